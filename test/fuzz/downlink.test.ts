import { describeTarget } from './support/mocha';
import { downlinkTarget } from './targets/downlink';

describeTarget(downlinkTarget);
