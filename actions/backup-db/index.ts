import '../../shared/postgres/pg-runtime-probe.js';
import { runAction } from '../../shared/run-action.js';
import { run } from './main.js';

await runAction(run, 'backup-db');
