/** The device configuration (config.schema.json beside this file is the authority; keep the two in step). */

export interface ModbusBusConfig {
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
  stopBits?: 1 | 2;
  responseTimeout?: number;
  retries?: number;
  offlineAfter?: number;
}

export interface ModbusDeviceConfig {
  name: string;
  profile: string;
  unitId: number;
  interval: number;
  points?: string[];
  responseTimeout?: number;
  retries?: number;
  offlineInterval?: number;
}

export interface SensorConfig {
  name: string;
  part: 'SHT3x' | 'SHTC3' | 'BME280' | 'LPS22HB' | 'OPT3001';
  address?: number;
  interval: number;
}

export interface PulseInputConfig {
  name: string;
  input: string;
  edge?: 'falling' | 'rising';
  debounce?: number;
  saveEvery?: number;
  saveInterval?: number;
  unitPerPulse?: number;
  unit?: string;
}

export interface DigitalInputConfig {
  name: string;
  input: string;
  activeLevel?: 'low' | 'high';
  debounce?: number;
  /** Event type reported on change (e.g. "tamper", "door"). */
  event?: string;
}

export interface RelayConfig {
  name: string;
  output: string;
  restore?: 'last' | 'off' | 'on';
  activeLevel?: 'low' | 'high';
}

export interface PassthroughConfig {
  enabled: boolean;
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
  stopBits?: 1 | 2;
  /** Silence that ends a chunk, ms. */
  idleGap?: number;
  /** Largest chunk, bytes. */
  maximumChunk?: number;
}

export interface DeviceConfig {
  version: number;
  modbus?: { bus?: ModbusBusConfig; devices: ModbusDeviceConfig[] };
  sensors?: SensorConfig[];
  pulseInputs?: PulseInputConfig[];
  digitalInputs?: DigitalInputConfig[];
  relays?: RelayConfig[];
  passthrough?: PassthroughConfig;
}
