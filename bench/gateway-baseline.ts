/**
 * The baseline for `npm run bench:gateway`: a plain UDP-to-MQTT forwarder built from the same libraries as the
 * gateway (the codec's CoAP and SenML decoding, the gateway's JSON payload format, MQTT.js, an embedded Aedes
 * broker), with no security (plain CoAP, identity from ?imei=) and no durability (it answers at once and
 * publishes from memory). What the gateway costs on top of this is OSCORE, the fsynced journal, dedup and
 * the retained state.
 *
 * Run as a child process: tsx bench/gateway-baseline.ts <udp port> <broker port> <channel>[:unit],... [broker URL]
 * (with a broker URL it publishes there, QoS 1, instead of to an embedded broker on <broker port>).
 */
import { createSocket } from 'node:dgram';
import mqtt from 'mqtt';
import { CoapCode, CoapTypes, decodeCoap, encodeCoap } from '../firmware/protocol/coap';
import { decodeUplink } from '../firmware/protocol/uplink';
import { classifyPlainRequest } from '../gateway/coap/plain';
import { startEmbeddedBroker } from '../gateway/mqtt/broker';
import { TopicScheme } from '../gateway/mqtt/topics';
import type { Channel } from '../gateway/store/registry';
import { mapUplink, readingJson } from '../gateway/uplink-mapping';

async function main(): Promise<void> {
  const [udpPort, brokerPort, channelText, externalUrl] = process.argv.slice(2);
  const channels: Channel[] = (channelText ?? 'value').split(',').map((part) => {
    const [name, unit] = part.split(':');
    return unit ? { name: name!, unit } : { name: name! };
  });
  const broker = externalUrl ? null : await startEmbeddedBroker('127.0.0.1', Number(brokerPort));
  const client = mqtt.connect(externalUrl ?? broker!.url, { protocolVersion: 4, clientId: 'udt-baseline-forwarder' });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  const topics = new TopicScheme('udt');
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  socket.on('message', (datagram, remote) => {
    try {
      const request = decodeCoap(new Uint8Array(datagram.buffer, datagram.byteOffset, datagram.length));
      const classified = classifyPlainRequest(request);
      if (classified.kind !== 'uplink') return;
      const uplink = decodeUplink(request.payload);
      const receivedAt = Date.now();
      const mapped = mapUplink(uplink.records, channels, -1, receivedAt);
      for (const reading of mapped.readings) {
        client.publish(topics.readings(classified.imei), readingJson(classified.imei, reading, mapped.state, receivedAt), { qos: 1 });
      }
      const response = encodeCoap({
        type: CoapTypes.Acknowledgement,
        code: CoapCode.Changed,
        messageId: request.messageId,
        token: request.token,
        options: [],
        payload: new Uint8Array(0),
      });
      socket.send(response, remote.port, remote.address);
    } catch {
      // A forwarder without validation simply drops what it cannot read.
    }
  });
  await new Promise<void>((resolve) => socket.bind(Number(udpPort), '127.0.0.1', () => resolve()));
  process.stdout.write(JSON.stringify({ msg: 'baseline started', udpPort: Number(udpPort), broker: externalUrl ?? broker!.url }) + '\n');
  process.once('SIGTERM', () => {
    socket.close();
    client.end(true, {}, () => {
      (broker ? broker.close() : Promise.resolve()).then(() => process.exit(0), () => process.exit(0));
    });
  });
}

main().catch((error: Error) => {
  process.stderr.write(`baseline forwarder: ${error.message}\n`);
  process.exit(1);
});
