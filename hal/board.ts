/**
 * The shape of one boards.json entry (validated by hal/boards.schema.json and hal/board-loader.ts).
 * The build embeds the chosen board's entry in the firmware bundle; hal/espruino turns it into BoardIo.
 */
export type PinName = string;
export type ActiveLevel = 'low' | 'high';
export type ModemModel = 'BC66' | 'BC95-G' | 'BG96';

export interface SerialDefinition {
  port: string;
  tx?: PinName;
  rx?: PinName;
  cts?: PinName;
  /** Linux build only: the device file (tty or pty) behind the port. */
  path?: string;
  baudRate: number;
}

export interface ControlPinDefinition {
  pin: PinName;
  activeLevel: ActiveLevel;
  pulseMilliseconds?: number;
}

export interface BoardDefinition {
  id: string;
  name: string;
  espruinoBoard: string;
  notes?: string;
  variables: number;
  codeBudgetBytes: number;
  nativeCrypto: { aes: boolean; sha256: boolean };
  storage: { bytes: number; pageSize: number };
  pins: PinName[];
  modem: {
    model: ModemModel;
    serial: SerialDefinition;
    powerKey: ControlPinDefinition | null;
    reset: ControlPinDefinition | null;
    psmWake: ControlPinDefinition | null;
  };
  rs485: { serial: SerialDefinition; driverEnablePin: PinName } | null;
  auxiliarySerial: SerialDefinition | null;
  i2c: {
    bus: string;
    scl: PinName;
    sda: PinName;
    bitrate: number;
    onBoardDevices: Array<{ part: string; address: number; purpose?: string }>;
  } | null;
  digitalInputs: Array<{ name: string; pin: PinName; pull?: 'up' | 'down' | 'none' }>;
  digitalOutputs: Array<{ name: string; pin: PinName; initial?: boolean }>;
  battery: { pin: PinName; dividerRatio: number; referenceVolts: number } | null;
  acSense: ControlPinDefinition | null;
}
