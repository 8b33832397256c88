/**
 * The mains supply (via the terminal's AC/DC module): powers the board while on and drives the AC-sense
 * input at its active level. Switching it off leaves the board on its battery, or unpowered without one.
 */
import type { PowerSource, VirtualBoard } from '../board';

export class AcSupply implements PowerSource {
  readonly name = 'ac';
  private on: boolean;

  constructor(
    private readonly board: VirtualBoard,
    present = true,
  ) {
    this.on = present;
    this.driveSense();
    board.addPowerSource(this);
  }

  available(): boolean {
    return this.on;
  }

  get present(): boolean {
    return this.on;
  }

  set(present: boolean): void {
    if (present === this.on) return;
    this.on = present;
    this.driveSense();
    this.board.powerChanged();
    this.board.emit('ac', { present, time: this.board.clock.now() });
  }

  private driveSense(): void {
    const sense = this.board.definition.acSense;
    if (!sense) return;
    const activeHigh = sense.activeLevel === 'high';
    this.board.gpio.drive(sense.pin, this.on ? activeHigh : !activeHigh);
  }
}
