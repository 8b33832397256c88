/**
 * What the Sensirion humidity sensors share (SHT3x datasheet 4.12, SHTC3 datasheet 5.9): CRC-8 with
 * polynomial 0x31 and initial value 0xFF over each 16-bit word, and the conversion of raw words.
 */
import { HalError } from '../../hal/interfaces';

export function sensirionCrc(data: Uint8Array, offset: number): number {
  let crc = 0xff;
  for (let index = offset; index < offset + 2; index++) {
    crc ^= data[index];
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

export interface HumidityReading {
  temperature: number;
  humidity: number;
}

/** Two CRC-protected words (temperature first) into °C and %RH, with `fullScale` 65535 (SHT3x) or 65536 (SHTC3). */
export function decodeSensirion(data: Uint8Array, device: string, fullScale: number): HumidityReading {
  if (data.length < 6 || sensirionCrc(data, 0) !== data[2] || sensirionCrc(data, 3) !== data[5]) {
    throw new HalError('io', device, 'CRC mismatch in measurement');
  }
  const temperatureRaw = (data[0] << 8) | data[1];
  const humidityRaw = (data[3] << 8) | data[4];
  return { temperature: -45 + (175 * temperatureRaw) / fullScale, humidity: (100 * humidityRaw) / fullScale };
}
