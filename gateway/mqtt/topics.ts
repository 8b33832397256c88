/**
 * The MQTT topic scheme (docs/mqtt.md). The prefix is configurable and may contain slashes; device names are
 * IMEIs. Command names are single topic levels.
 */

export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

export class TopicScheme {
  constructor(readonly prefix: string) {}

  readings(device: string): string {
    return `${this.prefix}/${device}/up`;
  }

  event(device: string, type: string): string {
    return `${this.prefix}/${device}/event/${type}`;
  }

  state(device: string): string {
    return `${this.prefix}/${device}/state`;
  }

  command(device: string, name: string): string {
    return `${this.prefix}/${device}/cmd/${name}`;
  }

  commandAck(device: string, name: string): string {
    return `${this.prefix}/${device}/cmd/${name}/ack`;
  }

  gatewayStatus(gatewayId: string): string {
    return `${this.prefix}/gateway/${gatewayId}/status`;
  }

  /** What the gateway subscribes to for downlinks. `+` matches one level, so `.../ack` topics do not match. */
  commandSubscription(): string {
    return `${this.prefix}/+/cmd/+`;
  }

  /** Device and command name from a command topic, or null when the topic is not one. */
  parseCommand(topic: string): { device: string; name: string } | null {
    if (!topic.startsWith(this.prefix + '/')) return null;
    const levels = topic.slice(this.prefix.length + 1).split('/');
    if (levels.length !== 3 || levels[1] !== 'cmd') return null;
    const [device, , name] = levels as [string, string, string];
    // Any name is taken here: one the terminal does not know is refused with a failed ack (command-catalogue.ts).
    if (device === 'gateway' || name.length === 0) return null;
    return { device, name };
  }
}
