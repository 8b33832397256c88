import { describeTarget } from './support/mocha';
import { atEngineTarget } from './targets/at-engine';

describeTarget(atEngineTarget);
