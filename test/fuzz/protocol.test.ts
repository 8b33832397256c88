import { describeTarget } from './support/mocha';
import { protocolTarget } from './targets/protocol';

describeTarget(protocolTarget);
