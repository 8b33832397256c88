/**
 * Aedes as its own process, for the soak when Mosquitto is not installed: `node --require tsx/cjs
 * aedes-process.ts <port>`. Gateway clients (ids `udt-gateway-*`) are refused until a line "admit" arrives on
 * stdin, so a restarted broker (which forgot every subscription) lets the gateway publish only once the consumers
 * subscribed again. SIGTERM: the gateway's connections are cut first, what was already accepted has a moment to
 * reach the subscribers, then everything closes.
 */
import { createServer, Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { Aedes } from 'aedes';

const gatewayPrefix = 'udt-gateway-';

async function main(): Promise<void> {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`usage: aedes-process.ts <port>, got ${process.argv[2]}`);
  let admitted = false;
  const gatewaySockets = new Set<Socket>();
  const broker = await Aedes.createBroker({
    preConnect: (client, packet, callback) => {
      // client.id is not set yet when preConnect runs: the id is in the CONNECT packet.
      const isGateway = String(packet.clientId ?? client.id ?? '').startsWith(gatewayPrefix);
      if (isGateway && admitted) gatewaySockets.add(client.conn as Socket);
      callback(null, !isGateway || admitted);
    },
  });
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      gatewaySockets.delete(socket);
    });
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() === 'admit') admitted = true;
  });
  process.stdout.write(`aedes listening on ${port}\n`);
  process.once('SIGTERM', () => {
    admitted = false;
    server.close();
    for (const socket of gatewaySockets) socket.destroy();
    setTimeout(() => {
      for (const socket of sockets) socket.end();
      broker.close(() => process.exit(0));
      setTimeout(() => process.exit(0), 1000).unref();
    }, 500);
  });
}

main().catch((error: Error) => {
  process.stderr.write(`aedes-process: ${error.message}\n`);
  process.exit(1);
});
