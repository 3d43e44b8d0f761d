export const id = 580;
export const ids = [580];
export const modules = {

/***/ 46580:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  runPgBackRestRestore: () => (/* binding */ runPgBackRestRestore)
});

// EXTERNAL MODULE: ./node_modules/@actions/core/lib/core.js + 13 modules
var core = __webpack_require__(77094);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(48161);
var external_node_os_default = /*#__PURE__*/__webpack_require__.n(external_node_os_);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
var external_node_path_default = /*#__PURE__*/__webpack_require__.n(external_node_path_);
// EXTERNAL MODULE: external "node:timers/promises"
var external_node_timers_promises_ = __webpack_require__(58500);
// EXTERNAL MODULE: ./shared/backup/inspect.ts
var inspect = __webpack_require__(64137);
// EXTERNAL MODULE: ./shared/errors.ts
var errors = __webpack_require__(32635);
;// CONCATENATED MODULE: ./shared/backup/pgbackrest/wal.ts
/**
 * Write-ahead log arithmetic, as PostgreSQL defines it (access/xlog_internal.h): an LSN is a 64-bit
 * byte position written "hi/lo" in hex; a segment file name is the timeline, then the segment number
 * split into "log id" and "segment in log id", eight hex digits each; a timeline's history file
 * lists, for each ancestor timeline, the LSN where the next one branched off.
 */
const DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024;
const SEGMENT_NAME = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
function parseLsn(text) {
    const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
    if (!match)
        throw new Error(`"${text}" is not an LSN (hi/lo in hex, e.g. 0/16B3748)`);
    return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}
function formatLsn(lsn) {
    return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}
const hex8 = (value) => value.toString(16).toUpperCase().padStart(8, '0');
function segmentFileName(segment, segmentSize = DEFAULT_SEGMENT_SIZE) {
    const perLogId = 0x100000000n / BigInt(segmentSize);
    return `${hex8(segment.timeline)}${hex8(segment.number / perLogId)}${hex8(segment.number % perLogId)}`;
}
function parseSegmentFileName(name, segmentSize = DEFAULT_SEGMENT_SIZE) {
    const match = SEGMENT_NAME.exec(name);
    if (!match)
        return undefined;
    const perLogId = 0x100000000n / BigInt(segmentSize);
    return { timeline: parseInt(match[1], 16), number: BigInt(`0x${match[2]}`) * perLogId + BigInt(`0x${match[3]}`) };
}
/**
 * The segment holding the WAL that ends at `lsn` (XLByteToPrevSeg, as pg_walfile_name does): an LSN
 * on a segment boundary belongs to the segment before it.
 */
function segmentEndingAt(lsn, timeline, segmentSize = DEFAULT_SEGMENT_SIZE) {
    return { timeline, number: (lsn - 1n) / BigInt(segmentSize) };
}
function segmentStartLsn(segment, segmentSize = DEFAULT_SEGMENT_SIZE) {
    return segment.number * BigInt(segmentSize);
}
/** Parses `<timeline>.history` (timeline, tab, switchpoint LSN, tab, reason; # comments). */
function parseTimelineHistory(text) {
    const branches = [];
    for (const raw of text.split('\n')) {
        const line = raw.trim();
        if (line === '' || line.startsWith('#'))
            continue;
        const [timeline, switchpoint] = line.split(/\s+/);
        branches.push({ timeline: Number(timeline), switchpoint: parseLsn(switchpoint) });
    }
    return branches;
}
/**
 * Which timeline of `timeline`'s ancestry the WAL position `lsn` is on: recovery that follows
 * `timeline` replays each ancestor up to its switchpoint, then the next.
 */
function timelineAt(lsn, timeline, history) {
    for (const branch of history)
        if (lsn < branch.switchpoint)
            return branch.timeline;
    return timeline;
}
function timelineHistoryFileName(timeline) {
    return `${hex8(timeline)}.history`;
}

;// CONCATENATED MODULE: ./shared/backup/pgbackrest/archive.ts



const ARCHIVED_SEGMENT = /(?:^|\/)([0-9A-F]{24})-[0-9a-f]{40}(?:\.[a-z0-9]+)?$/;
/** Every complete WAL segment in the stanza's current archive, oldest first. */
async function listArchivedSegments(host, info, segmentSize) {
    if (!info.archiveId)
        return [];
    const { stdout } = await host.pgbackrest('repo-ls', [
        '--output=json',
        '--recurse',
        '--log-level-console=warn',
        `archive/${info.name}/${info.archiveId}`,
    ]);
    const entries = JSON.parse(stdout);
    const segments = [];
    for (const [file, entry] of Object.entries(entries)) {
        const name = entry.type === 'file' ? ARCHIVED_SEGMENT.exec(file)?.[1] : undefined;
        const segment = name ? parseSegmentFileName(name, segmentSize) : undefined;
        if (name && segment)
            segments.push({ ...segment, name, archivedAt: new Date((entry.time ?? 0) * 1000) });
    }
    return segments.sort((a, b) => (a.number === b.number ? a.timeline - b.timeline : a.number < b.number ? -1 : 1));
}
/**
 * The archived segment names in one directory of the stanza's archive (its first 16 characters, a
 * timeline and log file), sorted: one listing instead of the whole archive's, for the segment just pushed.
 */
async function archivedSegmentsIn(host, info, directory) {
    if (!info.archiveId)
        return [];
    const { stdout } = await host.pgbackrest('repo-ls', [
        '--output=json',
        '--log-level-console=warn',
        `archive/${info.name}/${info.archiveId}/${directory}`,
    ]);
    const entries = JSON.parse(stdout);
    return Object.entries(entries)
        .flatMap(([file, entry]) => (entry.type === 'file' ? (ARCHIVED_SEGMENT.exec(file)?.[1] ?? []) : []))
        .sort();
}
/** The newest archived segment: what the newest restorable moment is measured by. */
function newestSegment(segments) {
    return segments.reduce((newest, segment) => !newest ||
        segment.archivedAt > newest.archivedAt ||
        (segment.archivedAt.getTime() === newest.archivedAt.getTime() && segment.name > newest.name)
        ? segment
        : newest, undefined);
}
/** A WAL file from the archive into `dir` (named as PostgreSQL names it); false when the archive does not have it. */
async function fetchWal(host, name, dir) {
    const result = await host.pgbackrest('archive-get', ['--log-level-console=warn', name, `${dir}/${name}`], {
        okExitCodes: [0, 1],
    });
    return result.exitCode === 0;
}
/** The history of `timeline` (empty for timeline 1, which has none). */
async function timelineHistory(host, timeline, scratchDir) {
    if (timeline <= 1)
        return [];
    const file = timelineHistoryFileName(timeline);
    if (!(await fetchWal(host, file, scratchDir)))
        throw new errors/* ActionError */.lZ(`The archive of stanza "${host.settings.stanza}" has no ${file}, which timeline ${timeline} needs.`);
    const { stdout } = await host.run('cat', ['--', `${scratchDir}/${file}`]);
    return parseTimelineHistory(stdout);
}
const RESTORE_POINT_RECORD = /lsn: ([0-9A-F]+\/[0-9A-F]+), prev [0-9A-F]+\/[0-9A-F]+, desc: RESTORE_POINT (.*)$/;
/** Restore points in pg_waldump's output, by name. */
function restorePointsIn(waldumpOutput) {
    const found = [];
    for (const line of waldumpOutput.split('\n')) {
        const match = RESTORE_POINT_RECORD.exec(line);
        if (match)
            found.push({ name: match[2], lsn: parseLsn(match[1]) });
    }
    return found;
}
/** Consecutive segments of one timeline, newest first, at most `size` to a batch. */
function segmentBatches(candidates, size) {
    const sorted = [...candidates].sort((a, b) => a.number === b.number ? b.timeline - a.timeline : a.number > b.number ? -1 : 1);
    const batches = [];
    for (const segment of sorted) {
        const batch = batches.at(-1);
        const last = batch?.at(-1);
        if (batch &&
            last &&
            batch.length < size &&
            last.timeline === segment.timeline &&
            last.number === segment.number + 1n)
            batch.push(segment);
        else
            batches.push([segment]);
    }
    return batches;
}
/** The LSN just past `segment`'s last byte. */
function segmentEndLsn(segment, segmentSize) {
    return segmentStartLsn(segment, segmentSize) + BigInt(segmentSize);
}
const BATCH_SEGMENTS = 8;
const PARALLEL_FETCHES = 4;
/** How much WAL before backup-db's restore-point-lsn is read first: the record is just before it. */
const NEAR_HINT_BYTES = 64n * 1024n;
/**
 * The newest restore point called `search.name` whose LSN `holds`, in the WAL pg_waldump reads on
 * `timeline` from `start` to `end`: `files` are fetched into the scratch directory, PARALLEL_FETCHES
 * side by side, and removed afterwards. Undefined when there is none, or when the archive has none of
 * the files (pg_waldump would read nothing).
 */
async function newestRestorePointIn(host, waldump, search, read) {
    try {
        const fetched = [];
        for (let index = 0; index < read.files.length; index += PARALLEL_FETCHES) {
            fetched.push(...(await Promise.all(read.files.slice(index, index + PARALLEL_FETCHES).map((name) => fetchWal(host, name, search.scratchDir)))));
        }
        if (!fetched.some(Boolean))
            return undefined;
        // pg_waldump starts at the first record after `start`. Without --end it would wait for the next
        // file as for a server still writing it (10 tries, 500 ms apart: 5 s of every restore).
        const { stdout } = await host.run(waldump, [
            '--path',
            search.scratchDir,
            '--timeline',
            String(read.timeline),
            '--start',
            formatLsn(read.start),
            '--end',
            formatLsn(read.end),
            '--rmgr',
            'XLOG',
        ], { okExitCodes: [0, 1] });
        return restorePointsIn(stdout)
            .filter((point) => point.name === search.name && read.holds(point.lsn))
            .sort((a, b) => (a.lsn > b.lsn ? -1 : 1))[0]?.lsn;
    }
    finally {
        await host.run('rm', ['-f', '--', ...read.files.map((name) => `${search.scratchDir}/${name}`)]);
    }
}
/**
 * The restore point in the last 64 KiB of WAL before the LSN backup-db reported (its record ends
 * there), read from the one archived segment that holds it: pg_waldump decodes kilobytes instead of
 * the whole segments around it (seconds of a busy database's full-page images). Undefined when it is
 * not there (another timeline, a record crossing segments, a wrong hint): the full search follows.
 */
async function findNearHint(host, waldump, segments, search) {
    const hint = search.lsnHint;
    const number = segmentEndingAt(hint, 0, search.segmentSize).number;
    const holding = segments.filter((segment) => segment.number === number && number >= search.fromSegmentNumber);
    if (holding.length !== 1)
        return undefined;
    const [segment] = holding;
    const segmentStart = segmentStartLsn(segment, search.segmentSize);
    const from = hint - NEAR_HINT_BYTES > segmentStart ? hint - NEAR_HINT_BYTES : segmentStart;
    const lsn = await newestRestorePointIn(host, waldump, search, {
        files: [segment.name],
        timeline: segment.timeline,
        start: from,
        end: segmentEndLsn(segment, search.segmentSize),
        holds: (found) => found >= from && found < hint,
    });
    return lsn === undefined ? undefined : { name: search.name, lsn, timeline: segment.timeline, segment: segment.name };
}
/**
 * Finds the newest restore point called `name`, reading archived segments from the newest down with
 * pg_waldump, a batch of consecutive segments at a time (fetched side by side, with the segment
 * after the batch, for a record that crosses into it).
 */
async function findRestorePoint(host, segments, search) {
    const waldump = await host.serverProgram('pg_waldump', search.major);
    const near = search.lsnHint === undefined ? undefined : await findNearHint(host, waldump, segments, search);
    if (near)
        return near;
    const hinted = search.lsnHint === undefined ? undefined : segmentEndingAt(search.lsnHint, 0, search.segmentSize).number;
    const candidates = segments.filter((segment) => segment.number >= search.fromSegmentNumber &&
        (hinted === undefined || segment.number === hinted || segment.number === hinted - 1n));
    core/* info */.pq(`Looking for restore point "${search.name}" in ${candidates.length} archived WAL segment(s)${hinted === undefined ? '' : ` around LSN ${formatLsn(search.lsnHint)}`}.`);
    let read = 0;
    for (const batch of segmentBatches(candidates, BATCH_SEGMENTS)) {
        const lowest = batch[batch.length - 1];
        const after = segments.find((other) => other.timeline === batch[0].timeline && other.number === batch[0].number + 1n);
        // From the lowest segment through the batch and the one after it (a record crossing into it),
        // and no further: past --end pg_waldump would wait 5 s for a file that is not there.
        const lsn = await newestRestorePointIn(host, waldump, search, {
            files: [...batch, ...(after ? [after] : [])].map((segment) => segment.name),
            timeline: lowest.timeline,
            start: segmentStartLsn(lowest, search.segmentSize),
            end: segmentEndLsn(after ?? batch[0], search.segmentSize),
            holds: (found) => {
                const number = segmentEndingAt(found + 1n, 0, search.segmentSize).number;
                return number >= lowest.number && number <= batch[0].number;
            },
        });
        if (lsn !== undefined) {
            const segment = batch.find((candidate) => candidate.number === segmentEndingAt(lsn + 1n, 0, search.segmentSize).number);
            return { name: search.name, lsn, timeline: segment.timeline, segment: segment.name };
        }
        read += batch.length;
        if (read % 64 < BATCH_SEGMENTS && read < candidates.length)
            core/* info */.pq(`... ${read} of ${candidates.length} segments read.`);
    }
    return undefined;
}

// EXTERNAL MODULE: ./shared/postgres/connection.ts + 2 modules
var connection = __webpack_require__(6123);
;// CONCATENATED MODULE: ./shared/backup/pgbackrest/cluster.ts




/**
 * A PostgreSQL data directory on the pgBackRest host, driven with pg_ctl through the host's
 * executor: whether a server runs on it, starting a restored one on a side port, and waiting until
 * its recovery has ended (promotion) or failed.
 */
const ANY_EXIT = Array.from({ length: 256 }, (_, code) => code);
/** pg_ctl status: 0 a server runs on it, 3 none does; 4 (no data directory) is an error. */
async function serverRunsOn(host, pgCtl, dataDirectory) {
    const result = await host.run(pgCtl, ['status', '-D', dataDirectory], { okExitCodes: ANY_EXIT, timeoutMs: 60_000 });
    if (result.exitCode === 0)
        return true;
    if (result.exitCode === 3)
        return false;
    throw new errors/* ActionError */.lZ(`pg_ctl status -D ${dataDirectory} on ${host.description} failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim()}`);
}
/**
 * Waits until the server at `target` answers and has left recovery. `stillStarting` says whether it
 * is still worth waiting (false once the postmaster is gone); `explain` fetches its log for the error.
 */
async function waitUntilPromoted(target, timeoutMs, stillStarting, explain) {
    const deadline = Date.now() + timeoutMs;
    let lastProblem = 'it did not answer';
    // Polled every 50 ms: a longer step adds up to its length to the restore time (RTO) this
    // measures, and a failed connection attempt costs little.
    while (Date.now() < deadline) {
        let client;
        try {
            client = await (0,connection/* connect */.Ng)(target, { applicationName: 'rollback-actions restore-db', connectTimeoutMs: 5000 });
            const { rows } = await client.query('SELECT pg_is_in_recovery() AS recovering, pg_last_wal_replay_lsn()::text AS replayed');
            if (!rows[0].recovering) {
                // The timeline WAL is written on now (pg_control's checkpoint timeline lags until the next checkpoint).
                const { rows: current } = await client.query('SELECT pg_walfile_name(pg_current_wal_lsn()) AS segment, pg_current_wal_lsn()::text AS lsn');
                return { timeline: parseInt(current[0].segment.slice(0, 8), 16), lsn: current[0].lsn };
            }
            lastProblem = `it was still recovering (replayed up to ${rows[0].replayed ?? 'nothing yet'})`;
        }
        catch (error) {
            lastProblem = (0,errors/* errorMessage */.gJ)(error);
            if (!(await stillStarting().catch(() => false))) {
                throw new errors/* ActionError */.lZ(`The restored server stopped during recovery:\n${await explain().catch((reason) => `(its log could not be read: ${(0,errors/* errorMessage */.gJ)(reason)})`)}`);
            }
        }
        finally {
            await client?.end().catch(() => undefined);
        }
        await (0,external_node_timers_promises_.setTimeout)(50);
    }
    throw new errors/* ActionError */.lZ(`The restored server did not finish recovery within ${Math.round(timeoutMs / 1000)}s: ${lastProblem}.\n${await explain().catch(() => '')}`);
}
/** The last lines of a file there (a server log), for error messages. */
async function tailOf(host, file, lines = 20) {
    const { stdout } = await host.run('tail', ['-n', String(lines), '--', file], { okExitCodes: [0, 1] });
    return stdout.trim();
}
/**
 * `pg_ctl stop`, waiting; a server that is not running is fine. "fast" (the default) ends with a
 * shutdown checkpoint, so the directory is left clean; "immediate" skips it, for a directory that
 * is deleted next: after a restore and its checks that checkpoint writes every page they touched.
 */
async function stopServer(host, pgCtl, dataDirectory, mode = 'fast', 
/** Known to run (this step started it and has just used it): not asked again. */
knownRunning = false) {
    if (!knownRunning && !(await serverRunsOn(host, pgCtl, dataDirectory)))
        return;
    core/* info */.pq(`Stopping the server on ${dataDirectory}.`);
    await host.run(pgCtl, ['stop', '-D', dataDirectory, '-m', mode, '-w', '-t', '120'], { timeoutMs: 180_000 });
}

// EXTERNAL MODULE: ./shared/engine/executor.ts + 1 modules
var engine_executor = __webpack_require__(44298);
// EXTERNAL MODULE: ./shared/engine/ssh.ts + 1 modules
var engine_ssh = __webpack_require__(91256);
// EXTERNAL MODULE: ./shared/process.ts + 1 modules
var shared_process = __webpack_require__(78548);
// EXTERNAL MODULE: ./shared/backup/progress.ts
var progress = __webpack_require__(52806);
;// CONCATENATED MODULE: ./shared/backup/pgbackrest/info.ts


const STANZA_OK = 0;
const STANZA_NO_BACKUPS = 2;
/** JSON.parse would round a 64-bit system identifier; keep it as the digits it is. */
function parseKeepingSystemIds(json) {
    return JSON.parse(json.replace(/"system-id"\s*:\s*(\d+)/g, '"system-id":"$1"'));
}
function parseStanzaInfo(json, stanza) {
    let parsed;
    try {
        parsed = parseKeepingSystemIds(json);
    }
    catch (error) {
        throw new errors/* ActionError */.lZ(`pgbackrest info printed something that is not JSON: ${error.message}`);
    }
    const raw = (Array.isArray(parsed) ? parsed : []).find((entry) => entry.name === stanza);
    if (!raw)
        throw new errors/* ActionError */.lZ(`pgbackrest info does not list stanza "${stanza}".`);
    // After a stanza-upgrade the stanza holds several databases; only the current (last) one is restorable here.
    const db = raw.db?.at(-1);
    const archive = db ? raw.archive?.find((entry) => entry.database.id === db.id) : undefined;
    const backups = [];
    for (const backup of raw.backup ?? []) {
        if (backup.error ||
            !db ||
            backup.database.id !== db.id ||
            !backup.lsn ||
            !backup.archive.start ||
            !backup.archive.stop)
            continue;
        backups.push({
            label: backup.label,
            type: backup.type,
            startedAt: new Date(backup.timestamp.start * 1000),
            stoppedAt: new Date(backup.timestamp.stop * 1000),
            startLsn: parseLsn(backup.lsn.start),
            stopLsn: parseLsn(backup.lsn.stop),
            archiveStart: backup.archive.start,
            archiveStop: backup.archive.stop,
            timeline: parseSegmentFileName(backup.archive.start)?.timeline ?? 1,
            databaseBytes: backup.info.size,
            repositoryBytes: backup.info.repository.delta,
        });
    }
    return {
        name: raw.name,
        statusCode: raw.status.code,
        statusMessage: raw.status.message,
        systemId: db?.['system-id'],
        databaseVersion: db?.version,
        archiveId: archive?.id,
        archiveMin: archive?.min ?? undefined,
        archiveMax: archive?.max ?? undefined,
        backups,
    };
}

;// CONCATENATED MODULE: ./shared/backup/pgbackrest/host.ts







const STANZA_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** The first "ERROR: [nnn]: ..." pgBackRest printed, without the log prefix. */
function pgBackRestError(output) {
    const line = output.split('\n').find((text) => /\bERROR: \[\d+\]:/.test(text));
    return line?.replace(/^.*?\bERROR: /, '').trim();
}
/** `pgbackrest version` there: "2.45", or an error that says pgBackRest does not run there. */
async function probeVersion(executor) {
    const result = await executor.run('pgbackrest', ['version'], { timeoutMs: 60_000 }).catch((error) => {
        throw new errors/* ActionError */.lZ(`pgBackRest does not run on ${executor.description}: ${(0,errors/* errorMessage */.gJ)(error)}`, {
            hint: 'Install pgbackrest where the database server runs, and set pgbackrest-via (e.g. sudo -u postgres, or docker compose exec -T db) and ssh-host so that this step reaches it.',
        });
    });
    const version = /pgBackRest\s+(\S+)/.exec(result.stdout)?.[1];
    if (!version)
        throw new errors/* ActionError */.lZ(`"pgbackrest version" on ${executor.description} printed ${JSON.stringify(result.stdout.trim())}, not a pgBackRest version.`);
    return version;
}
const PID_MARK = 'rollback-actions: pgbackrest runs as pid';
const PID_LINE = new RegExp(`^${PID_MARK} (\\d+)$`);
class PgBackRestHost {
    executor;
    direct;
    settings;
    ssh;
    programs = new Map();
    constructor(
    /** Runs through pgbackrest-via: pgBackRest and the server programs. */
    executor, 
    /** The host itself, without the prefix: stop-command and start-command run here. */
    direct, settings, ssh) {
        this.executor = executor;
        this.direct = direct;
        this.settings = settings;
        this.ssh = ssh;
    }
    probedVersion = '';
    /** "2.45" */
    get version() {
        return this.probedVersion;
    }
    get description() {
        return this.executor.description;
    }
    /**
     * Connects (SSH), and proves pgBackRest runs there before anything else is attempted. Opens the
     * host and runs `first` (a read such as `pgbackrest info`) beside `pgbackrest version`:
     * one round trip instead of two. When pgBackRest does not run there, the version's error is the
     * one reported, whatever `first` failed with.
     */
    static async openWith(settings, first) {
        const ssh = settings.ssh ? await (0,engine_ssh/* openSshExecutor */.g)(settings.ssh) : undefined;
        const executor = (0,engine_executor/* prefixedExecutor */.p)(ssh ?? engine_executor/* localExecutor */.F, settings.via);
        const host = new PgBackRestHost(executor, ssh ?? engine_executor/* localExecutor */.F, settings, ssh);
        const value = first(host);
        value.catch(() => undefined);
        try {
            host.probedVersion = await probeVersion(executor);
            return { host, value: await value };
        }
        catch (error) {
            await ssh?.close();
            throw error;
        }
    }
    async close() {
        await this.ssh?.close();
    }
    /** The options every pgbackrest command takes, before the command name. */
    globalOptions() {
        return [`--stanza=${this.settings.stanza}`, ...(this.settings.config ? [`--config=${this.settings.config}`] : [])];
    }
    /** Runs `pgbackrest <command>`; a failure becomes pgBackRest's own error line. */
    async pgbackrest(command, args = [], options = {}, 
    /** A program pgbackrest runs under there (`sh -c ... exec`), as its first arguments. */
    wrapper = []) {
        const [program, ...programArgs] = [...wrapper, 'pgbackrest', ...this.globalOptions(), command, ...args];
        try {
            return await this.executor.run(program, programArgs, options);
        }
        catch (error) {
            if (error instanceof shared_process/* ProcessError */.yI) {
                const reason = pgBackRestError(`${error.result.stderr}\n${error.result.stdout}`);
                if (reason)
                    throw new errors/* ActionError */.lZ(`pgbackrest ${command} (stanza "${this.settings.stanza}" on ${this.description}) failed: ${reason}`, { cause: error });
                // The wrapper that announced the pid is this action's own device: not part of what failed.
                if (wrapper.length > 0)
                    throw new errors/* ActionError */.lZ(error.message
                        .replace(`${(0,shared_process/* formatCommand */.fE)(wrapper[0], wrapper.slice(1))} `, '')
                        .split('\n')
                        .filter((line) => !PID_LINE.test(line))
                        .join('\n'), { cause: error });
            }
            throw error;
        }
    }
    /** A long pgbackrest command with its log lines in a collapsible group. */
    async pgbackrestLogged(title, command, args) {
        return (0,progress/* withProgressGroup */.f)(title, (log) => this.pgbackrest(command, ['--log-level-console=info', ...args], { onStdoutLine: log, onStderrLine: log }));
    }
    /**
     * A long pgbackrest command, logged as pgbackrestLogged does, that `stop()` ends while it runs:
     * SIGTERM to the pgbackrest process itself, on the host and behind the prefix where it runs
     * (killing the local ssh or `docker compose exec` client would leave it running there). It runs
     * under `sh -c 'echo <pid>; exec pgbackrest ...'` so that its first line names its pid there.
     */
    startLogged(title, command, args) {
        let announce = () => undefined;
        const pid = new Promise((resolve) => (announce = resolve));
        let ended = false;
        const done = (0,progress/* withProgressGroup */.f)(title, (log) => this.pgbackrest(command, ['--log-level-console=info', ...args], {
            onStdoutLine: (line) => {
                const announced = PID_LINE.exec(line);
                if (announced)
                    announce(announced[1]);
                else
                    log(line);
            },
            onStderrLine: log,
        }, ['sh', '-c', `echo "${PID_MARK} $$"; exec "$@"`, 'sh'])).finally(() => {
            ended = true;
            announce(undefined);
        });
        done.catch(() => undefined);
        return {
            done,
            stop: async () => {
                const running = await pid;
                if (running && !ended)
                    await this.executor
                        // The shell's own kill: a database image may have no /bin/kill (procps).
                        .run('sh', ['-c', 'kill -TERM "$1"', 'sh', running], { okExitCodes: [0, 1], timeoutMs: 30_000 })
                        .catch((error) => core/* warning */.$e(`Could not stop pgbackrest ${command} (pid ${running}): ${(0,errors/* errorMessage */.gJ)(error)}`));
                await done.catch(() => undefined);
            },
        };
    }
    async info() {
        const { stdout } = await this.pgbackrest('info', ['--output=json', '--log-level-console=warn']);
        return parseStanzaInfo(stdout, this.settings.stanza);
    }
    /** `pgbackrest check`: the configuration, the repository, and one WAL segment archived end to end. */
    async check(options = {}) {
        const timeout = `--archive-timeout=${this.settings.archiveTimeoutSeconds}`;
        // Quiet beside another logged command: the log's groups cannot interleave. A failure still
        // carries pgBackRest's error line.
        if (options.quiet)
            await this.pgbackrest('check', ['--log-level-console=warn', timeout]);
        else
            await this.pgbackrestLogged(`pgbackrest check (stanza ${this.settings.stanza})`, 'check', [timeout]);
    }
    /** Runs any other program there (cat, mktemp, rm, tee, pg_ctl...) through the same prefix. */
    run(command, args, options) {
        return this.executor.run(command, args, options);
    }
    /**
     * pg_ctl or pg_waldump of the server's major version on that host: server-bin-dir, else PATH
     * (the official images), else Debian's and the PGDG RPMs' directories. Found once per step.
     */
    serverProgram(name, major) {
        const key = `${name}@${major}`;
        let found = this.programs.get(key);
        if (!found) {
            found = this.findServerProgram(name, major);
            this.programs.set(key, found);
        }
        return found;
    }
    async findServerProgram(name, major) {
        const candidates = this.settings.serverBinDir
            ? [`${this.settings.serverBinDir.replace(/\/+$/, '')}/${name}`]
            : [`/usr/lib/postgresql/${major}/bin/${name}`, `/usr/pgsql-${major}/bin/${name}`, name];
        const tried = [];
        for (const candidate of candidates) {
            const result = await this.executor
                .run(candidate, ['--version'], {
                okExitCodes: Array.from({ length: 256 }, (_, code) => code),
                timeoutMs: 30_000,
            })
                .catch((error) => {
                tried.push(`${candidate}: ${(0,errors/* errorMessage */.gJ)(error).split('\n')[0]}`);
                return undefined;
            });
            if (!result)
                continue;
            const version = /\(PostgreSQL\)\s+(\d+)/.exec(result.stdout)?.[1];
            if (result.exitCode === 0 && version === major)
                return candidate;
            tried.push(`${candidate}: ${result.exitCode === 0 ? `version ${version ?? 'unknown'}` : `exit ${result.exitCode}`}`);
        }
        throw new errors/* ActionError */.lZ(`No ${name} of PostgreSQL ${major} found on ${this.description} (tried ${tried.join('; ')}).`, {
            hint: 'Set server-bin-dir to the directory that holds the server programs of that version.',
        });
    }
    /** A private scratch directory there, removed by the returned function. */
    async scratchDirectory() {
        // A command prefix such as runuser keeps the caller's TMPDIR, which the user pgBackRest runs as
        // may not be able to write to: then /tmp, which every user can.
        const { stdout } = await this.executor
            .run('mktemp', ['-d', '-t', 'rollback-actions-XXXXXX'])
            .catch(() => this.executor.run('mktemp', ['-d', '-p', '/tmp', 'rollback-actions-XXXXXX']));
        const dir = stdout.trim();
        if (!dir.startsWith('/'))
            throw new errors/* ActionError */.lZ(`mktemp on ${this.description} printed ${JSON.stringify(dir)}, not a directory.`);
        return {
            path: dir,
            remove: async () => {
                await this.executor
                    .run('rm', ['-rf', '--', dir])
                    .catch((error) => core/* warning */.$e(`Could not remove ${dir} on ${this.description}: ${(0,errors/* errorMessage */.gJ)(error)}`));
            },
        };
    }
}

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
;// CONCATENATED MODULE: ./shared/backup/pgbackrest/recovery.ts




function describeTarget(target) {
    if (target.kind === 'name')
        return `restore point "${target.name}"`;
    if (target.kind === 'time')
        return `time ${target.time.toISOString()}`;
    return 'the end of the backup (immediate)';
}
function pickBackup(candidates, choice, context, why) {
    const all = context.info.backups;
    if (choice.kind === 'label') {
        const named = all.find((backup) => backup.label === choice.label);
        if (!named) {
            throw new errors/* InputError */.dz(context.inputs.backupSet, `is "${choice.label}", which is not a backup of stanza "${context.info.name}" (it has: ${all.map((backup) => backup.label).join(', ') || 'no backups'}). Nothing was restored.`);
        }
        if (!candidates.includes(named))
            throw new errors/* InputError */.dz(context.inputs.backupSet, `is "${choice.label}", which cannot recover to ${why}: it ends after it, or on another timeline. Nothing was restored.`);
        return named;
    }
    if (candidates.length === 0)
        throw new errors/* ActionError */.lZ(`No backup of stanza "${context.info.name}" can recover to ${why}: none ends before it on its timeline. Nothing was restored.`);
    if (choice.kind === 'latest')
        return candidates[candidates.length - 1];
    const now = (context.now ?? new Date()).getTime();
    const recent = candidates.filter((backup) => now - backup.stoppedAt.getTime() <= choice.windowMs);
    if (recent.length === 0)
        throw new errors/* ActionError */.lZ(`No backup of stanza "${context.info.name}" finished within the random-window (${Math.round(choice.windowMs / 3_600_000)}h); the newest is ${candidates[candidates.length - 1].label}. Nothing was restored.`);
    return recent[(0,external_node_crypto_.randomInt)(recent.length)];
}
/** The newest timeline the archive knows (its segments and history files). */
function latestTimeline(segments) {
    return segments.reduce((latest, segment) => Math.max(latest, segment.timeline), 1);
}
/** Backups a recovery along `timeline` can start from: their end lies on that timeline's ancestry. */
async function backupsOnTimeline(context, timeline) {
    const history = await timelineHistory(context.host, timeline, context.scratchDir);
    return context.info.backups.filter((backup) => timelineAt(backup.stopLsn, timeline, history) === backup.timeline && backup.timeline <= timeline);
}
async function planRecovery(target, choice, context, major) {
    if (context.info.backups.length === 0)
        throw new errors/* ActionError */.lZ(`Stanza "${context.info.name}" has no valid backup to restore (pgbackrest info: ${context.info.statusMessage}). Nothing was restored.`);
    if (target.kind === 'immediate') {
        const backup = pickBackup(context.info.backups, choice, context, 'its own end');
        return {
            target,
            backup,
            description: `the end of backup ${backup.label} (${backup.type}, finished ${backup.stoppedAt.toISOString()})`,
        };
    }
    if (target.kind === 'time') {
        const now = context.now ?? new Date();
        if (target.time > now)
            throw new errors/* InputError */.dz(context.inputs.target, `is ${target.time.toISOString()}, which is in the future. Nothing was restored.`);
        const onTimeline = await backupsOnTimeline(context, latestTimeline(context.segments));
        const backup = pickBackup(onTimeline.filter((candidate) => candidate.stoppedAt <= target.time), choice, context, describeTarget(target));
        return {
            target,
            backup,
            description: `${describeTarget(target)}, from backup ${backup.label} (finished ${backup.stoppedAt.toISOString()})`,
        };
    }
    const oldest = context.info.backups
        .map((backup) => parseSegmentFileName(backup.archiveStart, context.segmentSize)?.number ?? 0n)
        .reduce((min, number) => (number < min ? number : min));
    const found = await findRestorePoint(context.host, context.segments, {
        name: target.name,
        lsnHint: target.lsnHint,
        fromSegmentNumber: oldest,
        major,
        segmentSize: context.segmentSize,
        scratchDir: context.scratchDir,
    });
    if (!found) {
        throw new errors/* InputError */.dz(context.inputs.target, `is "${target.name}", and no restore point of that name is in the archived WAL of stanza "${context.info.name}"${target.lsnHint === undefined ? ' since its oldest backup' : ` around LSN ${formatLsn(target.lsnHint)}`}. Nothing was restored.`, {
            hint: 'Use the restore-point output of the backup-db step that created it; a restore point whose WAL was never archived cannot be recovered to.',
        });
    }
    const onTimeline = await backupsOnTimeline(context, found.timeline);
    const backup = pickBackup(onTimeline.filter((candidate) => candidate.stopLsn <= found.lsn), choice, context, describeTarget(target));
    return {
        target,
        backup,
        timeline: found.timeline,
        restorePoint: found,
        description: `${describeTarget(target)} at ${formatLsn(found.lsn)} on timeline ${found.timeline}, from backup ${backup.label} (finished ${backup.stoppedAt.toISOString()})`,
    };
}
/** recovery_target_time as PostgreSQL and pgBackRest both read it: "2026-01-02 03:04:05.678+00". */
function recoveryTimeText(time) {
    return `${time.toISOString().replace('T', ' ').replace('Z', '')}+00`;
}
/** `pgbackrest restore` options for a plan; the destination's own options are added by the caller. */
function restoreOptions(plan) {
    const options = [`--set=${plan.backup.label}`];
    const { target } = plan;
    if (target.kind === 'name')
        options.push('--type=name', `--target=${target.name}`, `--target-timeline=${plan.timeline}`, '--target-action=promote');
    else if (target.kind === 'time')
        options.push('--type=time', `--target=${recoveryTimeText(target.time)}`, '--target-action=promote');
    else
        options.push('--type=immediate', '--target-action=promote');
    return options;
}
/**
 * The plan a restore to a named point can start from before the archived WAL is read, when the
 * point's LSN is given (backup-db's restore-point-lsn): the backup planRecovery picks when the
 * point lies on the timeline of the newest backup that ends before it, as it does unless the
 * cluster changed timeline since. The plan read from the archive confirms it (sameRestore) or
 * replaces it. Undefined when nothing can be told in advance: no LSN, a random backup set, no such
 * backup.
 */
function earlyPlan(target, choice, info) {
    if (target.kind !== 'name' || target.lsnHint === undefined || choice.kind === 'random')
        return undefined;
    const lsn = target.lsnHint;
    const before = info.backups.filter((backup) => backup.stopLsn <= lsn);
    const backup = choice.kind === 'label' ? before.find((candidate) => candidate.label === choice.label) : before.at(-1);
    if (!backup)
        return undefined;
    return {
        target,
        backup,
        timeline: backup.timeline,
        description: `${describeTarget(target)} at about ${formatLsn(lsn)}, from backup ${backup.label}`,
    };
}
/** Whether two plans run the same `pgbackrest restore`. */
function sameRestore(a, b) {
    return JSON.stringify(restoreOptions(a)) === JSON.stringify(restoreOptions(b));
}

;// CONCATENATED MODULE: ./shared/backup/pgbackrest/restore-point.ts



/** PostgreSQL keeps restore point names in a char[MAXFNAMELEN] (64 bytes with the terminating NUL). */
const RESTORE_POINT_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,62}$/;
const RESTORE_POINT_DESCRIPTION = 'letters, digits and . _ : @ + - (at most 63, starting with a letter or digit)';
async function createRestorePoint(client, name) {
    const { rows } = await client.query('SELECT lsn::text AS lsn, pg_walfile_name(lsn) AS segment, clock_timestamp() AS at FROM pg_create_restore_point($1) AS lsn', [name]);
    const [row] = rows;
    return {
        name,
        lsn: row.lsn,
        createdAt: row.at,
        timeline: parseSegmentFileName(row.segment)?.timeline ?? 1,
        segment: row.segment,
    };
}
/** Whether the archiver's last archived file is this segment or a later one (same or later timeline). */
function archivedThrough(last, segment) {
    return last !== null && /^[0-9A-F]{24}$/.test(last) && last >= segment;
}
/**
 * Puts everything written so far into the archive: a commit record (so that a recovery to any time
 * up to now finds a commit after it to stop at), a switch to a new segment, and a wait until the
 * archiver reports the finished segment archived. Returns that segment.
 */
async function archiveUpToNow(client, timeoutMs) {
    const started = new Date();
    await client.query('SELECT txid_current()');
    const { rows } = await client.query('SELECT pg_walfile_name(pg_switch_wal()) AS segment');
    const segment = rows[0].segment;
    const deadline = Date.now() + timeoutMs;
    let state;
    // Polled every 50 ms at most (a query on a view): archive_command usually finishes within a
    // few hundred ms, and a longer step would add up to its length to every restore point.
    for (let delay = 10;; delay = Math.min(delay * 2, 50)) {
        state = (await client.query('SELECT last_archived_wal, last_failed_wal, last_failed_time FROM pg_stat_archiver')).rows[0];
        if (archivedThrough(state.last_archived_wal, segment))
            return segment;
        if (Date.now() >= deadline)
            break;
        await (0,external_node_timers_promises_.setTimeout)(delay);
    }
    const failure = state?.last_failed_time && state.last_failed_time >= started
        ? ` The archiver's last failure: ${state.last_failed_wal} at ${state.last_failed_time.toISOString()} (see the server log for archive_command's error).`
        : '';
    throw new errors/* ActionError */.lZ(`WAL segment ${segment} was not archived within ${Math.round(timeoutMs / 1000)}s (last archived: ${state?.last_archived_wal ?? 'none'}).${failure}`);
}

;// CONCATENATED MODULE: ./shared/backup/pgbackrest/server.ts



async function describeLiveServer(client) {
    const version = await (0,connection/* serverVersion */.qh)(client);
    const { rows } = await client.query(`SELECT system_identifier::text AS system_id, pg_is_in_recovery() AS in_recovery,
            (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS segment_size
       FROM pg_control_system()`);
    let files;
    try {
        const { rows: settings } = await client.query(`SELECT current_setting('data_directory') AS data_directory, current_setting('hba_file') AS hba_file, current_setting('ident_file') AS ident_file,
              current_setting('listen_addresses') AS listen_addresses, current_setting('unix_socket_directories') AS socket_directories`);
        const [row] = settings;
        files = {
            dataDirectory: row.data_directory,
            hbaFile: row.hba_file,
            identFile: row.ident_file,
            listenAddresses: row.listen_addresses,
            socketDirectories: row.socket_directories,
        };
    }
    catch {
        // Only superusers and pg_read_all_settings may read file locations; callers ask for them as inputs then.
        files = undefined;
    }
    return {
        version,
        systemId: rows[0].system_id,
        segmentSize: Number(rows[0].segment_size) || DEFAULT_SEGMENT_SIZE,
        inRecovery: rows[0].in_recovery,
        files,
    };
}
/** A stanza that describes another cluster is refused: its backups cannot be this database's. */
function ensureStanzaOfServer(info, server) {
    if (info.systemId && info.systemId !== server.systemId) {
        throw new errors/* ActionError */.lZ(`Stanza "${info.name}" belongs to the cluster with system identifier ${info.systemId}, but this server's is ${server.systemId}: its backups and WAL are another cluster's.`, { hint: 'Check pgbackrest-stanza, and that database-url points at the cluster that stanza backs up.' });
    }
    if (info.databaseVersion && info.databaseVersion !== String(server.version.major)) {
        throw new errors/* ActionError */.lZ(`Stanza "${info.name}" holds PostgreSQL ${info.databaseVersion} backups, but this server runs ${server.version.major} (run pgbackrest stanza-upgrade after a major upgrade).`);
    }
}

// EXTERNAL MODULE: external "node:net"
var external_node_net_ = __webpack_require__(77030);
;// CONCATENATED MODULE: ./shared/backup/pgbackrest/side-cluster.ts





/**
 * A restored copy of the cluster in a new data directory, started on a side port beside the live
 * server: for drills, inspection, and copying tables back. Its archiving is off (it must never push
 * a timeline of its own into the live stanza's archive), and a marker file says that restore-db
 * made it, so that only such a directory is ever removed.
 */
const SIDE_MARKER = 'rollback-actions-side-cluster.json';
const SIDE_LOG = 'rollback-actions-side.log';
/**
 * A postgres:// URL of the side cluster's database: the live database-url's user, password, host
 * and settings on the side port, for the steps that work on the restored copy (a drill's checks).
 */
function sideClusterUrl(target) {
    const url = new URL('postgres://localhost');
    url.hostname = target.host.includes(':') ? `[${target.host}]` : target.host;
    url.port = String(target.port);
    url.username = encodeURIComponent(target.user);
    if (target.password !== undefined)
        url.password = encodeURIComponent(target.password);
    url.pathname = `/${encodeURIComponent(target.database)}`;
    if (target.sslmode)
        url.searchParams.set('sslmode', target.sslmode);
    return url.toString();
}
/** A TCP port nothing listens on now, on this runner (for a side cluster that runs here). */
async function freeLocalPort() {
    return await new Promise((resolve, reject) => {
        const server = (0,external_node_net_.createServer)();
        server.once('error', reject);
        server.listen(0, () => {
            const address = server.address();
            server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
        });
    });
}
async function exists(host, file) {
    const result = await host.run('ls', ['-d', '--', file], { okExitCodes: [0, 1, 2] });
    return result.exitCode === 0;
}
async function writeFileThere(host, file, text) {
    await host.run('tee', ['--', file], { input: text });
}
const confValue = (value) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
async function restoreSideCluster(host, plan, request) {
    const dir = request.dataDirectory;
    const [listed, pgCtl] = await Promise.all([
        host.run('ls', ['-A', '--', dir], { okExitCodes: [0, 1, 2] }),
        host.serverProgram('pg_ctl', request.major),
    ]);
    if (listed.exitCode === 0 && listed.stdout.trim() !== '') {
        throw new errors/* ActionError */.lZ(`The side data directory ${dir} on ${host.description} already exists and is not empty; restore-db never restores over a directory it did not make. Nothing was restored.`, {
            hint: 'Choose another side-data-dir, or remove the old side cluster first (remove-side-cluster).',
        });
    }
    const log = `${dir}/${SIDE_LOG}`;
    try {
        const restoring = host.startLogged(`pgbackrest restore into ${dir} (${plan.description})`, 'restore', [
            ...restoreOptions(plan),
            `--pg1-path=${dir}`,
            '--archive-mode=off',
            `--recovery-option=port=${request.port}`,
        ]);
        const checked = (request.startsAfter ?? Promise.resolve()).catch(async (error) => {
            await restoring.stop();
            throw error;
        });
        checked.catch(() => undefined);
        // A restore that fails on its own waits for the check: a failed check is the cause to report.
        await restoring.done.catch(async (error) => {
            await checked;
            throw error;
        });
        await checked;
        const [, configured] = await Promise.all([
            writeFileThere(host, `${dir}/${SIDE_MARKER}`, `${JSON.stringify({ madeBy: 'rollback-actions restore-db', port: request.port, backup: plan.backup.label, target: plan.description, at: new Date().toISOString() })}\n`),
            exists(host, `${dir}/postgresql.conf`),
        ]);
        if (!configured) {
            if (!request.liveSettings)
                throw new errors/* ActionError */.lZ(`The restored data directory has no postgresql.conf (the live server keeps its configuration elsewhere), and the live server's settings could not be read to write one.`);
            const settings = request.liveSettings;
            await writeFileThere(host, `${dir}/postgresql.conf`, [
                '# Written by rollback-actions restore-db for a side cluster: the live configuration lives outside its data directory.',
                `hba_file = ${confValue(settings.hbaFile)}`,
                `ident_file = ${confValue(settings.identFile)}`,
                `listen_addresses = ${confValue(settings.listenAddresses)}`,
                `unix_socket_directories = ${confValue(settings.socketDirectories)}`,
                '',
            ].join('\n'));
        }
        core/* info */.pq(`Starting the restored cluster on port ${request.port}.`);
        await host
            .run(pgCtl, ['start', '-D', dir, '-l', log, '-w', '-t', String(Math.ceil(request.timeoutMs / 1000))], {
            timeoutMs: request.timeoutMs + 30_000,
        })
            .catch(async (error) => {
            throw new errors/* ActionError */.lZ(`The restored cluster in ${dir} did not start: ${(0,errors/* errorMessage */.gJ)(error)}\n${await tailOf(host, log).catch(() => '')}`);
        });
        const recovered = await waitUntilPromoted(request.target, request.timeoutMs, () => serverRunsOn(host, pgCtl, dir), () => tailOf(host, log));
        return { side: { dataDirectory: dir, port: request.port, target: request.target }, recovered };
    }
    catch (error) {
        // The directory did not exist (or was empty) before: what is in it now is this step's, and unusable.
        await stopServer(host, pgCtl, dir, 'immediate').catch(() => undefined);
        await host
            .run('rm', ['-rf', '--', dir])
            .catch((reason) => core/* warning */.$e(`Could not remove ${dir}: ${(0,errors/* errorMessage */.gJ)(reason)}`));
        throw error;
    }
}
/**
 * Stops a side cluster, and with `remove` deletes its directory: only one that carries restore-db's
 * marker. `running`: the cluster this step restored and started (its marker written, its server
 * answering), which needs neither looked up again.
 */
async function retireSideCluster(host, dataDirectory, major, remove, running) {
    if (!running && !(await exists(host, `${dataDirectory}/${SIDE_MARKER}`))) {
        throw new errors/* ActionError */.lZ(`${dataDirectory} on ${host.description} has no ${SIDE_MARKER}: it is not a side cluster restore-db made, and is left alone.`);
    }
    const pgCtl = await host.serverProgram('pg_ctl', major);
    await stopServer(host, pgCtl, dataDirectory, remove ? 'immediate' : 'fast', running !== undefined);
    if (remove) {
        await host.run('rm', ['-rf', '--', dataDirectory]);
        core/* info */.pq(`Removed the side cluster ${dataDirectory}.`);
    }
}

// EXTERNAL MODULE: ./shared/backup/names.ts
var names = __webpack_require__(17717);
// EXTERNAL MODULE: ./shared/backup/tables.ts
var tables = __webpack_require__(10696);
// EXTERNAL MODULE: ./shared/postgres/pg-tools.ts
var pg_tools = __webpack_require__(43849);
// EXTERNAL MODULE: ./shared/duration.ts
var duration = __webpack_require__(15784);
// EXTERNAL MODULE: ./shared/events.ts
var events = __webpack_require__(44121);
// EXTERNAL MODULE: ./shared/outputs.ts
var outputs = __webpack_require__(73624);
// EXTERNAL MODULE: ./shared/summary.ts
var summary = __webpack_require__(96566);
// EXTERNAL MODULE: ./shared/backup/method.ts
var method = __webpack_require__(59652);
// EXTERNAL MODULE: ./shared/engine/host-inputs.ts
var host_inputs = __webpack_require__(49505);
// EXTERNAL MODULE: ./shared/inputs.ts
var shared_inputs = __webpack_require__(18573);
;// CONCATENATED MODULE: ./shared/backup/pgbackrest/inputs.ts




/** "sudo -u postgres" (words split on white space) or a JSON array, for words with spaces in them. */
function parseVia(text) {
    if (text === undefined)
        return [];
    if (text.startsWith('[')) {
        const parsed = (0,shared_inputs/* jsonInput */.$1)('pgbackrest-via');
        if (!Array.isArray(parsed) ||
            parsed.length === 0 ||
            parsed.some((part) => typeof part !== 'string' || part === '')) {
            throw new errors/* InputError */.dz('pgbackrest-via', 'given as JSON must be a non-empty array of non-empty strings, e.g. ["docker", "compose", "exec", "-T", "db"].');
        }
        return parsed;
    }
    return text.split(/\s+/).filter(Boolean);
}
/**
 * The inputs backup-db and restore-db share for method "pgbackrest": which stanza, which config
 * file, and how to reach the host pgBackRest runs on (ssh-host..., pgbackrest-via).
 */
function readPgBackRestSettings(extra = {}) {
    const stanza = (0,shared_inputs/* stringInput */.Uj)('pgbackrest-stanza', {
        pattern: STANZA_PATTERN,
        patternDescription: 'a pgBackRest stanza name (letters, digits, ".", "_" or "-")',
    });
    if (!stanza)
        throw new errors/* InputError */.dz('pgbackrest-stanza', 'is required with method "pgbackrest": the stanza (as in pgbackrest.conf) of the cluster.');
    const archiveTimeoutMs = (0,shared_inputs/* durationInput */.Ts)('archive-timeout', { default: 60_000, min: 1000, max: 3_600_000 });
    return {
        stanza,
        config: (0,shared_inputs/* stringInput */.Uj)('pgbackrest-config', {
            pattern: /^\//,
            patternDescription: 'an absolute path to pgbackrest.conf on the host pgBackRest runs on',
        }),
        via: parseVia((0,shared_inputs/* stringInput */.Uj)('pgbackrest-via')),
        ssh: (0,host_inputs/* readSshTarget */.WI)(),
        archiveTimeoutSeconds: Math.ceil(archiveTimeoutMs / 1000),
        ...extra,
    };
}

// EXTERNAL MODULE: ./shared/backup/size-gate.ts
var size_gate = __webpack_require__(80270);
// EXTERNAL MODULE: ./actions/restore-db/inputs.ts + 1 modules
var restore_db_inputs = __webpack_require__(98570);
// EXTERNAL MODULE: ./actions/restore-db/tables.ts
var restore_db_tables = __webpack_require__(79751);
;// CONCATENATED MODULE: ./actions/restore-db/pgbackrest-inputs.ts










/**
 * restore-db's inputs for method "pgbackrest": what to recover to (a restore point, a time, or the
 * end of a backup), from which backup set, and where (a side cluster, or in place with the server
 * stopped and started by the given commands).
 */
const SIDE_CLUSTER_ENDINGS = ['keep', 'stop', 'remove'];
/** Inputs only the dump method reads (those without defaults, so that setting them can be noticed). */
const DUMP_ONLY_INPUTS = [
    'path',
    'artifact-name',
    'label',
    'run-id',
    'target-database',
    'encryption-key',
    'expected-checksum',
    'ledger',
];
/** As backup-db's row-count-max-size: a table up to this size is counted in a second or two. */
const DEFAULT_ROW_COUNT_MAX_SIZE = '256MiB';
const BACKUP_LABEL = /^\d{8}-\d{6}F(?:_\d{8}-\d{6}[DI])?$/;
const ABSOLUTE_PATH = /^\/[^\0]*$/;
/** A command as one argument per line, or a JSON array. */
function commandInput(name, text) {
    if (text === undefined)
        return undefined;
    if (text.startsWith('[')) {
        const parsed = (0,shared_inputs/* jsonInput */.$1)(name);
        if (!Array.isArray(parsed) || parsed.length === 0 || parsed.some((part) => typeof part !== 'string'))
            throw new errors/* InputError */.dz(name, 'given as JSON must be a non-empty array of strings.');
        return parsed;
    }
    return text
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean);
}
function readTarget() {
    const name = (0,shared_inputs/* stringInput */.Uj)('restore-point', {
        pattern: RESTORE_POINT_NAME,
        patternDescription: RESTORE_POINT_DESCRIPTION,
    });
    const lsnText = (0,shared_inputs/* stringInput */.Uj)('restore-point-lsn', {
        pattern: /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/,
        patternDescription: "an LSN such as 0/16B3748 (backup-db's restore-point-lsn output)",
    });
    const timeText = (0,shared_inputs/* stringInput */.Uj)('target-time', {
        pattern: /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$/,
        patternDescription: 'an ISO 8601 time with its zone, e.g. 2026-05-04T03:02:01Z',
    });
    if (name && timeText)
        throw new errors/* InputError */.dz('target-time', 'and "restore-point" were both given; recover either to a restore point or to a time.');
    if (lsnText && !name)
        throw new errors/* InputError */.dz('restore-point-lsn', 'only narrows the search for restore-point; give restore-point too.');
    if (name)
        return { kind: 'name', name, lsnHint: lsnText ? parseLsn(lsnText) : undefined };
    if (timeText) {
        const time = new Date(timeText.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'));
        if (Number.isNaN(time.getTime()))
            throw new errors/* InputError */.dz('target-time', `is not a valid time: ${JSON.stringify(timeText)}.`);
        return { kind: 'time', time };
    }
    return { kind: 'immediate' };
}
function readBackupSet() {
    const text = (0,shared_inputs/* stringInput */.Uj)('backup-set', { default: 'latest' });
    const windowMs = (0,shared_inputs/* durationInput */.Ts)('random-window', { default: 7 * 86_400_000, min: 60_000 });
    if (text === 'latest')
        return { kind: 'latest' };
    if (text === 'random')
        return { kind: 'random', windowMs };
    if (!BACKUP_LABEL.test(text))
        throw new errors/* InputError */.dz('backup-set', `must be "latest", "random" or a pgBackRest backup label such as 20260504-030201F; got ${JSON.stringify(text)}.`);
    return { kind: 'label', label: text };
}
function readPgBackRestRestoreInputs() {
    (0,method/* rejectInputsOfOtherMethod */.B)('pgbackrest', DUMP_ONLY_INPUTS);
    const target = (0,connection/* resolvePgTarget */.hh)((0,shared_inputs/* stringInput */.Uj)('database-url'));
    const mode = (0,shared_inputs/* enumInput */.gX)('mode', restore_db_inputs/* RESTORE_MODES */.Qe, { default: 'new-database' });
    const replace = mode === 'replace';
    const removeSideCluster = (0,shared_inputs/* stringInput */.Uj)('remove-side-cluster', {
        pattern: ABSOLUTE_PATH,
        patternDescription: 'an absolute path (the side-data-dir output of an earlier restore)',
    });
    const inputs = {
        target,
        settings: readPgBackRestSettings({
            serverBinDir: (0,shared_inputs/* stringInput */.Uj)('server-bin-dir', {
                pattern: ABSOLUTE_PATH,
                patternDescription: 'an absolute directory path',
            }),
        }),
        recovery: readTarget(),
        backupSet: readBackupSet(),
        mode,
        sideDataDirectory: (0,shared_inputs/* stringInput */.Uj)('side-data-dir', {
            pattern: ABSOLUTE_PATH,
            patternDescription: 'an absolute directory path on the host pgBackRest runs on',
        }),
        sidePort: (0,shared_inputs/* integerInput */.$A)('side-port', { min: 1, max: 65535 }),
        sideCluster: (0,shared_inputs/* enumInput */.gX)('side-cluster', SIDE_CLUSTER_ENDINGS, { default: 'keep' }),
        stopCommand: commandInput('stop-command', (0,shared_inputs/* stringInput */.Uj)('stop-command')),
        startCommand: commandInput('start-command', (0,shared_inputs/* stringInput */.Uj)('start-command')),
        dataDirectory: (0,shared_inputs/* stringInput */.Uj)('data-directory', {
            pattern: ABSOLUTE_PATH,
            patternDescription: "an absolute directory path (the server's data_directory)",
        }),
        safetyBackup: (0,shared_inputs/* booleanInput */.tE)('safety-backup', { default: true }),
        recoveryTimeoutMs: (0,shared_inputs/* durationInput */.Ts)('recovery-timeout', { default: 30 * 60_000, min: 5000 }),
        removeSideCluster,
        tables: (0,restore_db_tables/* readTablesInputs */.hA)(),
        noOwner: (0,shared_inputs/* booleanInput */.tE)('no-owner', { default: false }),
        pgBinDir: (0,shared_inputs/* stringInput */.Uj)('pg-bin-dir'),
        rowCountMaxBytes: (0,size_gate/* sizeOrNone */.B$)('row-count-max-size', (0,shared_inputs/* stringInput */.Uj)('row-count-max-size', { default: DEFAULT_ROW_COUNT_MAX_SIZE })) ??
            Infinity,
    };
    if (replace && inputs.tables.tables.length > 0)
        throw new errors/* InputError */.dz('tables', 'only applies to mode "new-database": the tables are copied from the recovered side cluster into the live database, which stays running.');
    if (replace) {
        for (const [name, value] of [
            ['side-data-dir', inputs.sideDataDirectory],
            ['side-port', inputs.sidePort],
        ]) {
            if (value !== undefined)
                throw new errors/* InputError */.dz(name, 'only applies to mode "new-database" (a side cluster); mode "replace" restores the cluster in place.');
        }
        if (!inputs.startCommand)
            throw new errors/* InputError */.dz('start-command', 'is required with mode "replace": the command that starts the server again after the restore (e.g. systemctl start postgresql@16-main, or docker compose start db).');
    }
    else {
        for (const [name, value] of [
            ['stop-command', inputs.stopCommand],
            ['start-command', inputs.startCommand],
        ]) {
            if (value)
                throw new errors/* InputError */.dz(name, 'only applies to mode "replace"; mode "new-database" restores into a side cluster and leaves the live server alone.');
        }
    }
    return inputs;
}

;// CONCATENATED MODULE: ./actions/restore-db/pgbackrest-summary.ts



function pgBackRestRestoreSummary(input) {
    const { inputs, result } = input;
    const { plan, side, state } = result;
    const where = side
        ? `side cluster ${side.dataDirectory}, port ${side.port} (${inputs.sideCluster === 'keep' ? 'left running' : inputs.sideCluster === 'stop' ? 'stopped afterwards' : 'removed afterwards'})`
        : `in place (${inputs.target.host}:${inputs.target.port})`;
    const parts = [
        `## ${input.problems.length ? '❌' : '✅'} Point-in-time recovery: \`${inputs.target.database}\` ${input.problems.length ? '— does NOT hold together' : '— verified'}\n`,
        (0,summary/* keyValueTable */.z2)([
            ['Recovered to', plan.description],
            ['Into', where],
            ['Timeline', `${result.recovered.timeline} (promoted at ${result.recovered.lsn})`],
            ['pgBackRest', `${input.pgBackRest}, stanza ${inputs.settings.stanza}`],
            [
                'Safety restore point',
                result.safetyPoint
                    ? `\`${result.safetyPoint.name}\` at ${result.safetyPoint.lsn} on timeline ${result.safetyPoint.timeline} (the state before this restore)`
                    : undefined,
            ],
            ['Schema version', state.schemaVersion ?? '(no migration history)'],
            [
                'Foreign keys',
                `${state.foreignKeys.length} checked, ${state.foreignKeys.some((fk) => fk.violations > 0) ? 'some with orphan rows' : 'all hold'}`,
            ],
            ['Newest restorable WAL', result.newestRestorableAt?.toISOString()],
            ['Restore (RTO)', (0,duration/* formatDuration */.a)(result.restoreMs)],
            ['Took', (0,duration/* formatDuration */.a)(input.durationMs)],
        ]),
    ];
    if (result.tables)
        parts.push((0,restore_db_tables/* restoredTablesSummary */.kA)(result.tables));
    if (input.problems.length)
        parts.push(`\n### Problems\n\n${input.problems.map((problem) => `- ${problem}`).join('\n')}\n`);
    // Estimates (tables above row-count-max-size) are labelled as such, never shown as counts.
    const rows = [
        ...Object.entries(state.rowCounts).map(([table, rows]) => [table, rows, String(rows)]),
        ...Object.entries(state.estimatedRowCounts ?? {}).map(([table, rows]) => [table, rows, `~${rows} (estimate: above row-count-max-size)`]),
    ]
        .sort(([, a], [, b]) => b - a)
        .slice(0, 30)
        .map(([table, , shown]) => [table, shown]);
    if (rows.length)
        parts.push('\n### Row counts\n\n', (0,summary/* markdownTable */.Qj)(['Table', 'Rows'], rows));
    return parts.join('');
}

;// CONCATENATED MODULE: ./actions/restore-db/pgbackrest.ts

























/** Partial restore from the recovered side cluster into the live database (the runner's pg_dump and pg_restore). */
async function copyTablesBack(inputs, side, major) {
    const workDir = await (0,promises_.mkdtemp)(external_node_path_default().join(process.env.RUNNER_TEMP || external_node_os_default().tmpdir(), 'rollback-tables-'));
    try {
        const [pgDump, pgRestore, psql] = await Promise.all(['pg_dump', 'pg_restore', 'psql'].map((tool) => (0,pg_tools/* findPgTool */.fh)(tool, Number(major), inputs.pgBinDir)));
        return await (0,tables/* restoreTables */.sH)({
            source: { kind: 'database', target: side },
            live: inputs.target,
            tables: inputs.tables.tables,
            content: inputs.tables.content,
            intoSchema: inputs.tables.intoSchema,
            noOwner: inputs.noOwner,
            pgDump,
            pgRestore,
            psql,
            workDir,
        });
    }
    finally {
        await (0,promises_.rm)(workDir, { recursive: true, force: true });
    }
}
const pgbackrest_ANY_EXIT = Array.from({ length: 256 }, (_, code) => code);
/** The live server, when it answers; a restore in place may find it already stopped. */
async function openLive(target) {
    let client;
    try {
        client = await (0,connection/* connect */.Ng)(target, { applicationName: 'rollback-actions restore-db', connectTimeoutMs: 10_000 });
        return { client, server: await describeLiveServer(client) };
    }
    catch (error) {
        await client?.end().catch(() => undefined);
        return { unreachable: (0,errors/* errorMessage */.gJ)(error) };
    }
}
async function waitUntilStopped(host, pgCtl, dataDirectory, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (!(await serverRunsOn(host, pgCtl, dataDirectory)))
            return true;
        await (0,external_node_timers_promises_.setTimeout)(250);
    }
    return false;
}
function sideDirectoryFor(inputs, live, now) {
    if (inputs.sideDataDirectory)
        return inputs.sideDataDirectory;
    if (!live?.files) {
        throw new errors/* InputError */.dz('side-data-dir', "is required here: the live server's data_directory could not be read (it needs a superuser or pg_read_all_settings) to put the side cluster beside it.");
    }
    return `${live.files.dataDirectory.replace(/\/+$/, '')}.restore-${(0,names/* compactTimestamp */.ce)(now).toLowerCase()}`;
}
async function runPgBackRestRestore(started) {
    const inputs = readPgBackRestRestoreInputs();
    const now = new Date(started);
    // pgBackRest's host (SSH, `pgbackrest version`) and the live server are reached at the same time.
    const liveOpening = inputs.removeSideCluster
        ? Promise.resolve({})
        : openLive(inputs.target);
    // The stanza's info is read beside `pgbackrest version` (not needed to remove a side cluster).
    const { host, value: info } = await PgBackRestHost.openWith(inputs.settings, (opened) => inputs.removeSideCluster ? Promise.resolve(undefined) : opened.info()).catch(async (error) => {
        // openLive never rejects; its connection is closed before the host's error is reported.
        await (await liveOpening).client?.end().catch(() => undefined);
        throw error;
    });
    const live = await liveOpening;
    try {
        core/* info */.pq(`pgBackRest ${host.version} on ${host.description}, stanza "${inputs.settings.stanza}".`);
        if (inputs.removeSideCluster) {
            const { stdout } = await host.run('cat', ['--', `${inputs.removeSideCluster}/PG_VERSION`]);
            await retireSideCluster(host, inputs.removeSideCluster, stdout.trim(), true);
            (0,outputs/* setOutputs */.n)({ 'side-data-dir': inputs.removeSideCluster, 'duration-ms': Date.now() - started });
            return;
        }
        const result = await restore(inputs, host, info, live, now);
        const durationMs = Date.now() - started;
        const database = inputs.target.database;
        (0,outputs/* setOutputs */.n)({
            database,
            'schema-version': result.state.schemaVersion ?? '',
            'row-counts': result.state.rowCounts,
            'estimated-row-counts': result.state.estimatedRowCounts,
            'foreign-keys': {
                checked: result.state.foreignKeys.length,
                violations: result.state.foreignKeys
                    .filter((fk) => fk.violations > 0)
                    .map((fk) => ({ constraint: fk.constraint, table: fk.table, rows: fk.violations })),
            },
            'recovery-target': result.plan.description,
            'backup-label': result.plan.backup.label,
            timeline: result.recovered.timeline,
            'side-data-dir': result.side && inputs.sideCluster !== 'remove' ? result.side.dataDirectory : undefined,
            'side-port': result.side && inputs.sideCluster === 'keep' ? result.side.port : undefined,
            'side-database-url': result.side && inputs.sideCluster === 'keep' ? sideClusterUrl(result.side.target) : undefined,
            'safety-restore-point': result.safetyPoint?.name,
            'restored-tables': result.tables,
            'restore-duration-ms': result.restoreMs,
            'newest-restorable-at': result.newestRestorableAt?.toISOString(),
            'duration-ms': durationMs,
        });
        const problems = result.state.foreignKeys
            .filter((fk) => fk.validated && fk.violations > 0)
            .map((fk) => `foreign key ${fk.constraint} on ${fk.table} -> ${fk.references}: ${fk.violations} row(s) reference nothing`);
        await (0,summary/* writeSummary */.Sy)(pgBackRestRestoreSummary({
            inputs,
            result,
            problems,
            durationMs,
            pgBackRest: `${host.version} on ${(0,summary/* code */.aY)(host.description)}`,
        }));
        if (problems.length) {
            (0,events/* emitEvent */.c)('restore_failed', { database, problems });
            throw new errors/* ActionError */.lZ(`The recovered database does not hold together:\n- ${problems.join('\n- ')}`);
        }
        (0,events/* emitEvent */.c)('restore_complete', {
            database,
            mode: inputs.mode,
            method: 'pgbackrest',
            target: result.plan.description,
            backup_label: result.plan.backup.label,
            restore_ms: result.restoreMs,
            duration_ms: durationMs,
        });
        core/* info */.pq(`Recovered to ${result.plan.description} in ${(0,duration/* formatDuration */.a)(durationMs)}.`);
    }
    finally {
        await live.client?.end().catch(() => undefined);
        await host.close();
    }
}
/** The archive's segments, and the recovery plan from them: read only, beside the stanza's check. */
async function planAfterCheck(inputs, host, info, major, segmentSize, checkStarted) {
    // The scratch directory, pg_waldump (for a restore point) and pg_ctl (for a side cluster), found
    // once per step, are looked for while the archive is listed: round trips to where pgBackRest runs at once.
    const scratching = host.scratchDirectory();
    if (inputs.recovery.kind === 'name')
        host.serverProgram('pg_waldump', major).catch(() => undefined);
    if (inputs.mode !== 'replace')
        host.serverProgram('pg_ctl', major).catch(() => undefined);
    const segments = await listArchivedSegments(host, info, segmentSize ?? 16 * 1024 * 1024).catch(async (error) => {
        await (await scratching.catch(() => undefined))?.remove();
        throw error;
    });
    const newestArchivedAt = newestSegment(segments)?.archivedAt;
    // The RPO is measured from the newest WAL archived before this restore's own check pushed the
    // current segment (the repository keeps whole seconds): what a restore could reach without it.
    const beforeCheck = Math.floor(checkStarted.getTime() / 1000) * 1000;
    const newestRestorableAt = newestSegment(segments.filter((segment) => segment.archivedAt.getTime() < beforeCheck))?.archivedAt;
    const scratch = await scratching;
    let plan;
    try {
        plan = await planRecovery(inputs.recovery, inputs.backupSet, {
            host,
            info,
            segments,
            segmentSize: segmentSize ?? 16 * 1024 * 1024,
            scratchDir: scratch.path,
            inputs: { target: inputs.recovery.kind === 'time' ? 'target-time' : 'restore-point', backupSet: 'backup-set' },
        }, major);
    }
    finally {
        await scratch.remove();
    }
    return { plan, newestArchivedAt, newestRestorableAt };
}
/** The plan read from the archive differs from the early one: the restore starts again from it. */
class PlanChanged extends Error {
    plan;
    constructor(plan) {
        super(`The plan read from the archive is not the one the restore started from: ${plan.description}.`);
        this.plan = plan;
    }
}
/** Into a side cluster: restore, start, recover, inspect (and copy tables back), then retire it as asked. */
async function restoreBeside(inputs, host, live, major, now, order) {
    const { planning, checking, early } = order;
    // Whatever else fails first, a failed check, and then a failed plan, is the error to report.
    const inOrder = async (error) => {
        await checking;
        if (!(error instanceof PlanChanged))
            await planning;
        throw error;
    };
    const port = inputs.sidePort ?? (host.executor.remote ? undefined : await freeLocalPort());
    if (port === undefined)
        throw new errors/* InputError */.dz('side-port', 'is required when pgBackRest runs on another host (ssh-host): a port free there for the side cluster.');
    const side = { ...inputs.target, port };
    const request = {
        dataDirectory: sideDirectoryFor(inputs, live.server, now),
        port,
        major,
        timeoutMs: inputs.recoveryTimeoutMs,
        target: side,
        liveSettings: live.server?.files,
    };
    const restoreStarted = Date.now();
    let restored;
    if (early) {
        const confirmed = planning.then(({ plan }) => {
            core/* info */.pq(`Recovery plan: ${plan.description}.`);
            if (!sameRestore(plan, early))
                throw new PlanChanged(plan);
        });
        const startsAfter = Promise.all([checking, confirmed]).then(() => undefined);
        startsAfter.catch(() => undefined);
        restored = await restoreSideCluster(host, early, { ...request, startsAfter }).catch(async (error) => {
            if (!(error instanceof PlanChanged))
                return await inOrder(error);
            core/* info */.pq(`${error.message} The restore from ${early.backup.label} was stopped and removed; restoring again.`);
            return undefined;
        });
    }
    const { plan, newestRestorableAt } = await planning;
    restored ??= await restoreSideCluster(host, plan, { ...request, startsAfter: checking }).catch(inOrder);
    const { side: cluster, recovered } = restored;
    const restoreMs = Date.now() - restoreStarted;
    core/* info */.pq(`Side cluster ${cluster.dataDirectory} recovered on port ${port} (timeline ${recovered.timeline}) in ${(0,duration/* formatDuration */.a)(restoreMs)}.`);
    try {
        const state = await (0,connection/* withClient */.SV)(side, (client) => (0,inspect/* inspectDatabase */.IE)(client, { rowCountMaxBytes: inputs.rowCountMaxBytes }));
        const tables = inputs.tables.tables.length > 0 ? await copyTablesBack(inputs, side, major) : undefined;
        return { plan, recovered, state, restored: side, side: cluster, restoreMs, newestRestorableAt, tables };
    }
    finally {
        if (inputs.sideCluster !== 'keep')
            await retireSideCluster(host, cluster.dataDirectory, major, inputs.sideCluster === 'remove', cluster);
    }
}
async function restore(inputs, host, info, live, now) {
    const replace = inputs.mode === 'replace';
    if (live.server)
        ensureStanzaOfServer(info, live.server);
    const major = info.databaseVersion ?? String(live.server?.version.major ?? '');
    if (!major)
        throw new errors/* ActionError */.lZ(`Stanza "${info.name}" has no database yet (pgbackrest info: ${info.statusMessage}). Nothing was restored.`);
    const segmentSize = live.server?.segmentSize ?? undefined;
    // In place: the data directory, and whether the server on it can be (or already is) stopped.
    let dataDirectory;
    let pgCtl;
    if (replace) {
        dataDirectory = inputs.dataDirectory ?? live.server?.files?.dataDirectory;
        if (!dataDirectory)
            throw new errors/* InputError */.dz('data-directory', `is required with mode "replace" when the server's data_directory cannot be read (${live.unreachable ?? 'reading it needs a superuser or pg_read_all_settings'}).`);
        pgCtl = await host.serverProgram('pg_ctl', major);
        const running = Boolean(live.client) || (await serverRunsOn(host, pgCtl, dataDirectory));
        if (running && !inputs.stopCommand) {
            throw new errors/* ActionError */.lZ(`The server on ${dataDirectory} is running, and mode "replace" restores only over a stopped server. Nothing was restored.`, {
                hint: 'Give stop-command (e.g. systemctl stop postgresql@16-main) so that restore-db stops it after its checks, or stop it yourself first.',
            });
        }
        if (!running && inputs.safetyBackup) {
            throw new errors/* ActionError */.lZ(`The server on ${dataDirectory} is not running, so no safety restore point of its current state can be made before it is overwritten. Nothing was restored.`, {
                hint: 'Start it, or set safety-backup: false to restore over it without one.',
            });
        }
    }
    // The stanza's own check, while the live server answers; otherwise its info must be clean. The
    // check (a WAL switch, and a wait until that segment is archived) runs while the archive is read
    // and the recovery planned, which change nothing, and, into a side cluster, while its files are
    // restored; nothing is overwritten or started before it has passed, and its failure is the one
    // reported.
    const checkStarted = new Date();
    let checking = Promise.resolve();
    if (live.client) {
        checking = host.check({ quiet: !replace }).then(() => {
            if (!replace)
                core/* info */.pq(`pgbackrest check passed (stanza "${info.name}") in ${(0,duration/* formatDuration */.a)(Date.now() - checkStarted.getTime())}.`);
        }, (error) => {
            throw new errors/* ActionError */.lZ(`Stanza "${info.name}" fails its check, so what it holds cannot be trusted: ${(0,errors/* errorMessage */.gJ)(error)}\nNothing was restored.`);
        });
        checking.catch(() => undefined);
    }
    else if (info.statusCode !== STANZA_OK) {
        throw new errors/* ActionError */.lZ(`Stanza "${info.name}" is not usable: ${info.statusMessage}. Nothing was restored.`);
    }
    else {
        core/* warning */.$e(`The live server does not answer (${live.unreachable}); pgbackrest check needs it and was skipped.`);
    }
    // Whatever else fails while the check still runs, a failed check is the error to report.
    const checkedFirst = (work) => work().catch(async (error) => {
        await checking;
        throw error;
    });
    const planning = checkedFirst(async () => {
        const planned = await planAfterCheck(inputs, host, info, major, segmentSize, checkStarted);
        if (replace)
            await checking;
        return planned;
    });
    planning.catch(() => undefined);
    // Into a side cluster, a restore to a named point whose LSN is given starts at once from the plan
    // that LSN implies; the plan read from the archive (as long as the check, or longer) confirms it
    // before the cluster starts, or the restore is stopped and started again from that plan.
    const early = replace ? undefined : earlyPlan(inputs.recovery, inputs.backupSet, info);
    if (early)
        return await restoreBeside(inputs, host, live, major, now, { early, planning, checking });
    const { plan, newestArchivedAt, newestRestorableAt } = await planning;
    core/* info */.pq(`Recovery plan: ${plan.description}.`);
    // Recovery to a time stops at the first commit after it: that commit must be in the archive. The
    // segment the check above pushed holds none (a WAL switch is no commit), so a target after the
    // WAL archived before it gets one (archiveUpToNow commits a transaction, then archives it).
    if (plan.target.kind === 'time' && (!newestRestorableAt || plan.target.time > newestRestorableAt)) {
        const client = live.client;
        if (!client)
            throw new errors/* InputError */.dz('target-time', `is after the newest archived WAL (${newestArchivedAt?.toISOString() ?? 'none'}), and the live server does not answer to archive more. Nothing was restored.`);
        await checkedFirst(() => archiveUpToNow(client, inputs.settings.archiveTimeoutSeconds * 1000));
    }
    if (!replace)
        return await restoreBeside(inputs, host, live, major, now, { planning, checking });
    // In place: a safety restore point of the current state, then stop, restore, start.
    let safetyPoint;
    if (inputs.safetyBackup && live.client) {
        safetyPoint = await createRestorePoint(live.client, `before-restore-${(0,names/* compactTimestamp */.ce)(now)}`);
        await archiveUpToNow(live.client, inputs.settings.archiveTimeoutSeconds * 1000);
        core/* info */.pq(`Safety restore point "${safetyPoint.name}" at ${safetyPoint.lsn} (timeline ${safetyPoint.timeline}): the state before this restore can be recovered to.`);
    }
    else if (!inputs.safetyBackup) {
        core/* warning */.$e(`safety-backup is false: the cluster on ${dataDirectory} is replaced without a restore point of its current state.`);
    }
    await live.client?.end().catch(() => undefined);
    live.client = undefined;
    (0,events/* emitEvent */.c)('restore_start', {
        database: inputs.target.database,
        mode: 'replace',
        method: 'pgbackrest',
        target: plan.description,
        safety_restore_point: safetyPoint?.name ?? null,
    });
    if (inputs.stopCommand && (await serverRunsOn(host, pgCtl, dataDirectory))) {
        core/* info */.pq(`Stopping the server: ${inputs.stopCommand.join(' ')}`);
        await host.direct.run(inputs.stopCommand[0], inputs.stopCommand.slice(1), { timeoutMs: 300_000 });
        if (!(await waitUntilStopped(host, pgCtl, dataDirectory, 60_000))) {
            throw new errors/* ActionError */.lZ(`The server on ${dataDirectory} is still running after stop-command; restoring over a running server is refused. Nothing was restored.`);
        }
    }
    const restoreStarted = Date.now();
    await host.pgbackrestLogged(`pgbackrest restore --delta into ${dataDirectory} (${plan.description})`, 'restore', [
        ...restoreOptions(plan),
        `--pg1-path=${dataDirectory}`,
        '--delta',
    ]);
    core/* info */.pq(`Starting the server: ${inputs.startCommand.join(' ')}`);
    await host.direct.run(inputs.startCommand[0], inputs.startCommand.slice(1), {
        timeoutMs: inputs.recoveryTimeoutMs,
    });
    const safetyNote = safetyPoint
        ? ` The state before this restore is restore point "${safetyPoint.name}" on timeline ${safetyPoint.timeline}.`
        : '';
    const recovered = await waitUntilPromoted(inputs.target, inputs.recoveryTimeoutMs, () => serverRunsOn(host, pgCtl, dataDirectory), async () => `See the server's log (pg_ctl status: ${(await host.run(pgCtl, ['status', '-D', dataDirectory], { okExitCodes: pgbackrest_ANY_EXIT })).stdout.trim()}).${safetyNote}`).catch((error) => {
        throw new errors/* ActionError */.lZ(`${(0,errors/* errorMessage */.gJ)(error)}${safetyNote}`);
    });
    const restoreMs = Date.now() - restoreStarted;
    core/* info */.pq(`Recovered in place to ${plan.description}: timeline ${recovered.timeline}, in ${(0,duration/* formatDuration */.a)(restoreMs)}.`);
    const state = await (0,connection/* withClient */.SV)(inputs.target, (client) => (0,inspect/* inspectDatabase */.IE)(client, { rowCountMaxBytes: inputs.rowCountMaxBytes }));
    return { plan, recovered, state, restored: inputs.target, safetyPoint, restoreMs, newestRestorableAt };
}


/***/ })

};
