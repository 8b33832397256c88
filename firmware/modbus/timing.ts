/**
 * Modbus RTU line timing derived from the serial settings (Modbus over Serial Line V1.02, section 2.5.1.1):
 * a frame ends after 3.5 character times of silence (t3.5) and characters of one frame are at most 1.5
 * character times apart (t1.5). Above 19200 baud the spec fixes t1.5 = 0.75 ms and t3.5 = 1.75 ms.
 */

export interface ModbusTiming {
  characterTime: number;
  /** Longest allowed gap inside a frame, ms. */
  interCharacterTimeout: number;
  /** Silence that separates frames, ms. */
  interFrameDelay: number;
  /** DE raised this long before the first start bit, so the line is driven (idle high) when the slave samples it. */
  preTransmitDelay: number;
  /**
   * DE held this long after the last stop bit. Long enough for a slow transceiver to finish the stop bit,
   * short enough (well under t3.5) that a fast slave's answer, which may start t3.5 after our last bit,
   * never meets our driver still on.
   */
  postTransmitDelay: number;
}

export function modbusTiming(baudRate: number, characterTime: number): ModbusTiming {
  const fast = baudRate > 19200;
  const interFrameDelay = fast ? 1.75 : 3.5 * characterTime;
  return {
    characterTime,
    interCharacterTimeout: fast ? 0.75 : 1.5 * characterTime,
    interFrameDelay,
    preTransmitDelay: Math.min(characterTime, 1),
    postTransmitDelay: Math.min(characterTime / 2, interFrameDelay / 4),
  };
}

/** Character time for a Modbus line: 1 start, 8 data, parity (or a second stop bit when 'none' and 2 stop bits), stop. */
export function modbusCharacterTime(baudRate: number, parity: 'none' | 'even' | 'odd', stopBits: 1 | 2): number {
  const bits = 1 + 8 + (parity === 'none' ? 0 : 1) + stopBits;
  return (bits * 1000) / baudRate;
}
