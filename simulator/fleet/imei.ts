// Fleet and test IMEIs: "35" + a 12-digit serial + the Luhn check digit, as a real IMEI carries.

/** IMEI with a valid Luhn check digit: "35" + 12-digit serial + check digit. */
export function imeiFor(serial: number): string {
  const body = `35${String(serial).padStart(12, '0')}`;
  let sum = 0;
  for (let position = 0; position < 14; position++) {
    let digit = body.charCodeAt(position) - 48;
    if (position % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return body + String((10 - (sum % 10)) % 10);
}
