// Modules the firmware build generates (firmware/build/bundle.ts); they do not exist as files.
declare module 'udt:board' {
  import type { BoardDefinition } from '../hal/board';
  const board: BoardDefinition;
  export default board;
}
declare module 'udt:config' {
  /** The device configuration built into this bundle, or null (then only Storage provides one). */
  const config: unknown;
  export default config;
}
declare module 'udt:build' {
  export const firmwareVersion: string;
}
declare module 'udt:drivers' {
  /** The driver of this board's modem model, or null when it is not available. */
  export const modemDriver: unknown;
  /** I2C sensor drivers by part name, for the board's on-board parts and the configured sensors. */
  export const sensorDrivers: Record<string, unknown>;
  /** The field parts the configuration uses (the others are left out of the build). */
  export const fieldParts: import('./config/field-interfaces').FieldParts;
  /** AES in JavaScript when the board's Espruino build has no crypto module, else null. */
  export const softwareBlockCipher: (() => import('./protocol/aes').BlockCipher) | null;
}
