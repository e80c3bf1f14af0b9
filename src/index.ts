import { run } from './main.js';

await run();
// Nothing may keep the step alive once the run is reported (idle keep-alive sockets, timers).
process.exit();
