import { describeTarget } from './support/mocha';
import { commandsTarget } from './targets/commands';

describeTarget(commandsTarget);
