/**
 * Which driver goes into which bundle. A board needs the driver of its modem model; a device configuration adds
 * the parts it names (I2C sensors, on the board or attached, Modbus and the other field parts, AES in JavaScript
 * where the board has none). Nothing else is bundled, because every byte of code costs flash the board needs for
 * data.
 *
 * The selection becomes the virtual module `udt:drivers`, which the firmware entry imports:
 *   modemDriver: the modem driver's export (or null), sensorDrivers: { [part]: export }, fieldParts: FieldParts,
 *   softwareBlockCipher: createSoftwareBlockCipher or null.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BoardDefinition } from '../../hal/board';
import { projectRoot } from '../../hal/board-loader';

export interface DriverEntry {
  /** Part name as boards.json and device configs spell it. */
  part: string;
  /** Source file relative to the project root. */
  file: string;
  /** The named export the firmware uses. */
  exportName: string;
}

export const modemDrivers: Record<string, DriverEntry> = {
  BC66: { part: 'BC66', file: 'firmware/modem/bc66.ts', exportName: 'Bc66Driver' },
  'BC95-G': { part: 'BC95-G', file: 'firmware/modem/bc95g.ts', exportName: 'Bc95gDriver' },
  BG96: { part: 'BG96', file: 'firmware/modem/bg96.ts', exportName: 'Bg96Driver' },
};

export const sensorDrivers: Record<string, DriverEntry> = {
  SHT3x: { part: 'SHT3x', file: 'firmware/sensors/sht3x.ts', exportName: 'Sht3x' },
  SHTC3: { part: 'SHTC3', file: 'firmware/sensors/shtc3.ts', exportName: 'Shtc3' },
  BME280: { part: 'BME280', file: 'firmware/sensors/bme280.ts', exportName: 'Bme280' },
  LPS22HB: { part: 'LPS22HB', file: 'firmware/sensors/lps22hb.ts', exportName: 'Lps22hb' },
  OPT3001: { part: 'OPT3001', file: 'firmware/sensors/opt3001.ts', exportName: 'Opt3001' },
  LIS3DH: { part: 'LIS3DH', file: 'firmware/sensors/lis3dh.ts', exportName: 'Lis3dh' },
};

export const modbusMaster: DriverEntry = { part: 'Modbus RTU master', file: 'firmware/modbus/master.ts', exportName: 'ModbusMaster' };
export const modbusPoller: DriverEntry = { part: 'Modbus poller', file: 'firmware/modbus/poller.ts', exportName: 'ModbusPoller' };

/** AES in JavaScript, for boards whose Espruino build has no crypto module (boards.json nativeCrypto.aes false). */
export const softwareAes: DriverEntry = { part: 'software AES', file: 'firmware/protocol/aes.ts', exportName: 'createSoftwareBlockCipher' };

/** Field parts (firmware/config/field-interfaces.ts FieldParts) by the configuration key that needs them. */
export const fieldParts: Record<'pulseCounter' | 'inputMonitor' | 'relay' | 'passthrough', DriverEntry> = {
  pulseCounter: { part: 'pulse counter', file: 'firmware/gpio/pulse-counter.ts', exportName: 'PulseCounter' },
  inputMonitor: { part: 'digital input monitor', file: 'firmware/gpio/input-monitor.ts', exportName: 'InputMonitor' },
  relay: { part: 'relay', file: 'firmware/gpio/relay.ts', exportName: 'Relay' },
  passthrough: { part: 'UART passthrough', file: 'firmware/passthrough/uart-passthrough.ts', exportName: 'UartPassthrough' },
};

export interface DriverSelection {
  /** Drivers that went in. */
  included: DriverEntry[];
  /** Parts the board or config asks for whose driver does not exist yet: the build report names them. */
  missing: DriverEntry[];
  /** Parts named that the catalog does not know at all. */
  unknownParts: string[];
  /** Source text of the `udt:drivers` module. */
  moduleSource: string;
}

interface ConfigShape {
  sensors?: Array<{ part?: string; type?: string }>;
  modbus?: { devices?: unknown[] } | unknown[];
  pulseInputs?: unknown[];
  digitalInputs?: unknown[];
  relays?: unknown[];
  passthrough?: { enabled?: boolean };
}

/** Field part names for `udt build --parts` (parts a later configuration by downlink may need). */
export const fieldPartNames = ['modbus', 'pulseCounter', 'inputMonitor', 'relay', 'passthrough'] as const;
export type FieldPartName = (typeof fieldPartNames)[number];

export function selectDrivers(board: BoardDefinition | undefined, config: unknown, extraParts: readonly FieldPartName[] = []): DriverSelection {
  const included: DriverEntry[] = [];
  const missing: DriverEntry[] = [];
  const unknownParts: string[] = [];
  const take = (entry: DriverEntry | undefined, part: string): DriverEntry | undefined => {
    if (!entry) {
      if (!unknownParts.includes(part)) unknownParts.push(part);
      return undefined;
    }
    if (included.includes(entry) || missing.includes(entry)) return included.includes(entry) ? entry : undefined;
    if (existsSync(path.join(projectRoot, entry.file))) {
      included.push(entry);
      return entry;
    }
    missing.push(entry);
    return undefined;
  };

  const modem = board ? take(modemDrivers[board.modem.model], board.modem.model) : undefined;
  const sensorParts: string[] = [];
  // On-board parts too only when the configuration reads them: a driver nothing reads is flash lost for data.
  const shape = (config ?? {}) as ConfigShape;
  for (const sensor of shape.sensors ?? []) {
    const part = sensor.part ?? sensor.type;
    if (part) sensorParts.push(part);
  }
  const sensors: Array<[string, DriverEntry]> = [];
  for (const part of sensorParts) {
    const entry = take(sensorDrivers[part], part);
    if (entry && !sensors.some(([name]) => name === part)) sensors.push([part, entry]);
  }
  const modbusDevices = Array.isArray(shape.modbus) ? shape.modbus : shape.modbus?.devices;
  const modbus = (modbusDevices && modbusDevices.length > 0) || extraParts.includes('modbus') ? take(modbusMaster, modbusMaster.part) : undefined;
  const poller = modbus ? take(modbusPoller, modbusPoller.part) : undefined;
  const wanted = {
    pulseCounter: (shape.pulseInputs ?? []).length > 0 || extraParts.includes('pulseCounter'),
    inputMonitor: (shape.digitalInputs ?? []).length > 0 || extraParts.includes('inputMonitor'),
    relay: (shape.relays ?? []).length > 0 || extraParts.includes('relay'),
    passthrough: !!shape.passthrough?.enabled || extraParts.includes('passthrough'),
  };
  const parts = (Object.keys(fieldParts) as Array<keyof typeof fieldParts>).map((key) => [key, wanted[key] ? take(fieldParts[key], fieldParts[key].part) : undefined] as const);

  const lines: string[] = [];
  const importOf = (entry: DriverEntry, alias: string): void => {
    lines.push(`import { ${entry.exportName} as ${alias} } from ${JSON.stringify(path.join(projectRoot, entry.file))};`);
  };
  if (modem) importOf(modem, 'modemDriver');
  sensors.forEach(([, entry], index) => importOf(entry, `sensor${index}`));
  if (modbus) importOf(modbus, 'modbusMasterDriver');
  lines.push(modem ? 'export { modemDriver };' : 'export var modemDriver = null;');
  lines.push(`export var sensorDrivers = { ${sensors.map(([part], index) => `${JSON.stringify(part)}: sensor${index}`).join(', ')} };`);
  const aes = board && board.nativeCrypto.aes ? undefined : take(softwareAes, softwareAes.part);
  if (aes) importOf(aes, 'softwareBlockCipherPart');
  lines.push(aes ? 'export var softwareBlockCipher = softwareBlockCipherPart;' : 'export var softwareBlockCipher = null;');
  if (modbus && poller) importOf(poller, 'modbusPollerPart');
  for (const [key, entry] of parts) if (entry) importOf(entry, `${key}Part`);
  lines.push(
    'export var fieldParts = { modbus: ' +
      (modbus && poller ? '{ master: modbusMasterDriver, poller: modbusPollerPart }' : 'null') +
      parts.map(([key, entry]) => `, ${key}: ${entry ? `${key}Part` : 'null'}`).join('') +
      ' };',
  );
  return { included, missing, unknownParts, moduleSource: lines.join('\n') + '\n' };
}
