export { type Authenticate, createSwitchboard, type Switchboard, type SwitchboardOptions } from './switchboard.js';
