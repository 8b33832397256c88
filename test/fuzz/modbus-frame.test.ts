import { describeTarget } from './support/mocha';
import { modbusFrameTarget } from './targets/modbus-frame';

describeTarget(modbusFrameTarget);
