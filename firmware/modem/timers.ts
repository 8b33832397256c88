/**
 * 3GPP timer encodings used by AT+CPSMS (TS 27.007 §7.38, values coded as in TS 24.008 §10.5.7.4a and
 * §10.5.7.3) and the +CCLK time format, ES5-safe (no Date.UTC: Espruino lacks it).
 */
import { isDigits } from './text';

/** T3412 extended ("GPRS Timer 3"): unit bits 8..6 -> seconds per step. */
const timer3Units: Array<[string, number]> = [
  ['011', 2],
  ['100', 30],
  ['101', 60],
  ['000', 600],
  ['001', 3600],
  ['010', 36000],
  ['110', 1152000],
];

/** T3324 active time ("GPRS Timer 2"): unit bits 8..6 -> seconds per step. */
const timer2Units: Array<[string, number]> = [
  ['000', 2],
  ['001', 60],
  ['010', 360],
];

function fiveBits(value: number): string {
  let text = '';
  for (let bit = 4; bit >= 0; bit--) text += (value >> bit) & 1 ? '1' : '0';
  return text;
}

function encode(seconds: number, units: Array<[string, number]>): string | null {
  for (let index = 0; index < units.length; index++) {
    const unit = units[index]!;
    const steps = Math.ceil(seconds / unit[1]);
    if (steps <= 31) return unit[0] + fiveBits(steps);
  }
  return null;
}

/** 8-character bit string for a requested periodic TAU (T3412 extended), rounded up to what the coding can say. */
export function encodePeriodicTau(seconds: number): string | null {
  return encode(seconds, timer3Units);
}

/** 8-character bit string for a requested active time (T3324). */
export function encodeActiveTime(seconds: number): string | null {
  return encode(seconds, timer2Units);
}

function decode(bits: string, units: Array<[string, number]>): number | null {
  if (bits.length !== 8) return null;
  for (let index = 0; index < 8; index++) if (bits.charAt(index) !== '0' && bits.charAt(index) !== '1') return null;
  const unitBits = bits.substring(0, 3);
  let value = 0;
  for (let index = 3; index < 8; index++) value = value * 2 + (bits.charAt(index) === '1' ? 1 : 0);
  for (let index = 0; index < units.length; index++) if (units[index]![0] === unitBits) return value * units[index]![1];
  return null;
}

/** Seconds of a T3412 extended bit string; null when deactivated or malformed. */
export function decodePeriodicTau(bits: string): number | null {
  return decode(bits, timer3Units);
}

/** Seconds of a T3324 bit string; null when deactivated or malformed. */
export function decodeActiveTime(bits: string): number | null {
  return decode(bits, timer2Units);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const shiftedYear = month <= 2 ? year - 1 : year;
  const era = Math.floor(shiftedYear / 400);
  const yearOfEra = shiftedYear - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/**
 * Parse the +CCLK time "yy/MM/dd,hh:mm:ss±zz" (local time, zone in quarter hours; TS 27.007 §8.15)
 * into epoch milliseconds UTC. Quotes and a leading "+CCLK:" are tolerated. Null when malformed.
 */
export function parseClock(text: string): number | null {
  // Written without RegExp: Espruino's has no {n} or ? quantifiers. Find "yy/MM/dd,hh:mm:ss" by its slashes.
  const start = text.indexOf('/') - 2;
  if (start < 0) return null;
  const field = (offset: number): number => {
    const digits = text.substr(start + offset, 2);
    return isDigits(digits) && digits.length === 2 ? parseInt(digits, 10) : NaN;
  };
  const separators = '//,::';
  const offsets = [2, 5, 8, 11, 14];
  for (let index = 0; index < offsets.length; index++) {
    if (text.charAt(start + offsets[index]!) !== separators.charAt(index)) return null;
  }
  const year = 2000 + field(0);
  const month = field(3);
  const day = field(6);
  const hours = field(9);
  const minutes = field(12);
  const seconds = field(15);
  if (isNaN(year + month + day + hours + minutes + seconds)) return null;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hours > 23 || minutes > 59 || seconds > 60) return null;
  // Optional zone: sign and one or two digits, in quarter hours.
  let quarters = 0;
  const sign = text.charAt(start + 17);
  if (sign === '+' || sign === '-') {
    let digits = text.charAt(start + 18);
    if (isDigits(text.charAt(start + 19))) digits += text.charAt(start + 19);
    if (!isDigits(digits)) return null;
    quarters = parseInt(digits, 10) * (sign === '-' ? -1 : 1);
  }
  const localSeconds = ((daysFromCivil(year, month, day) * 24 + hours) * 60 + minutes) * 60 + seconds;
  return (localSeconds - quarters * 900) * 1000;
}
