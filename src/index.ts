import * as core from '@actions/core';
import { run } from './main.js';
import { exitWhenFlushed } from './session.js';
import { sweep } from './sweep.js';

await (core.getInput('mode').trim().toLowerCase() === 'sweep' ? sweep() : run());
await exitWhenFlushed();
