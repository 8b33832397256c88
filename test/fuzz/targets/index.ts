/** Every fuzz target, in the order `npm run fuzz` runs them. */
import type { FuzzTarget } from '../support/runner';
import { atEngineTarget } from './at-engine';
import { commandsTarget } from './commands';
import { downlinkTarget } from './downlink';
import { modbusFrameTarget } from './modbus-frame';
import { protocolTarget } from './protocol';

export const fuzzTargets: FuzzTarget[] = [atEngineTarget, modbusFrameTarget, protocolTarget, downlinkTarget, commandsTarget];
