export const id = 796;
export const ids = [796];
export const modules = {

/***/ 15796:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  BACKUP_TYPES: () => (/* binding */ BACKUP_TYPES),
  readPgBackRestBackupInputs: () => (/* binding */ readPgBackRestBackupInputs),
  runPgBackRestBackup: () => (/* binding */ runPgBackRestBackup)
});

// EXTERNAL MODULE: ./node_modules/@actions/core/lib/core.js + 13 modules
var lib_core = __webpack_require__(77094);
// EXTERNAL MODULE: ./shared/errors.ts
var errors = __webpack_require__(32635);
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
        throw new ActionError(`The archive of stanza "${host.settings.stanza}" has no ${file}, which timeline ${timeline} needs.`);
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
const NEAR_HINT_BYTES = (/* unused pure expression or super */ null && (64n * 1024n));
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
    core.info(`Looking for restore point "${search.name}" in ${candidates.length} archived WAL segment(s)${hinted === undefined ? '' : ` around LSN ${formatLsn(search.lsnHint)}`}.`);
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
            core.info(`... ${read} of ${candidates.length} segments read.`);
    }
    return undefined;
}

// EXTERNAL MODULE: ./shared/engine/executor.ts + 1 modules
var engine_executor = __webpack_require__(44298);
// EXTERNAL MODULE: ./shared/engine/ssh.ts + 1 modules
var engine_ssh = __webpack_require__(91256);
// EXTERNAL MODULE: ./shared/process.ts + 1 modules
var shared_process = __webpack_require__(78548);
// EXTERNAL MODULE: ./shared/backup/progress.ts
var progress = __webpack_require__(52806);
;// CONCATENATED MODULE: ./shared/backup/pgbackrest/wal.ts
/**
 * Write-ahead log arithmetic, as PostgreSQL defines it (access/xlog_internal.h): an LSN is a 64-bit
 * byte position written "hi/lo" in hex; a segment file name is the timeline, then the segment number
 * split into "log id" and "segment in log id", eight hex digits each; a timeline's history file
 * lists, for each ancestor timeline, the LSN where the next one branched off.
 */
const DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024;
const SEGMENT_NAME = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
function wal_parseLsn(text) {
    const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
    if (!match)
        throw new Error(`"${text}" is not an LSN (hi/lo in hex, e.g. 0/16B3748)`);
    return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}
function wal_formatLsn(lsn) {
    return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}
const hex8 = (value) => value.toString(16).toUpperCase().padStart(8, '0');
function segmentFileName(segment, segmentSize = DEFAULT_SEGMENT_SIZE) {
    const perLogId = 0x100000000n / BigInt(segmentSize);
    return `${hex8(segment.timeline)}${hex8(segment.number / perLogId)}${hex8(segment.number % perLogId)}`;
}
function wal_parseSegmentFileName(name, segmentSize = DEFAULT_SEGMENT_SIZE) {
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
function wal_segmentEndingAt(lsn, timeline, segmentSize = DEFAULT_SEGMENT_SIZE) {
    return { timeline, number: (lsn - 1n) / BigInt(segmentSize) };
}
function wal_segmentStartLsn(segment, segmentSize = DEFAULT_SEGMENT_SIZE) {
    return segment.number * BigInt(segmentSize);
}
/** Parses `<timeline>.history` (timeline, tab, switchpoint LSN, tab, reason; # comments). */
function wal_parseTimelineHistory(text) {
    const branches = [];
    for (const raw of text.split('\n')) {
        const line = raw.trim();
        if (line === '' || line.startsWith('#'))
            continue;
        const [timeline, switchpoint] = line.split(/\s+/);
        branches.push({ timeline: Number(timeline), switchpoint: wal_parseLsn(switchpoint) });
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
function wal_timelineHistoryFileName(timeline) {
    return `${hex8(timeline)}.history`;
}

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
            startLsn: wal_parseLsn(backup.lsn.start),
            stopLsn: wal_parseLsn(backup.lsn.stop),
            archiveStart: backup.archive.start,
            archiveStop: backup.archive.stop,
            timeline: wal_parseSegmentFileName(backup.archive.start)?.timeline ?? 1,
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
                        .catch((error) => lib_core/* warning */.$e(`Could not stop pgbackrest ${command} (pid ${running}): ${(0,errors/* errorMessage */.gJ)(error)}`));
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
                    .catch((error) => lib_core/* warning */.$e(`Could not remove ${dir} on ${this.description}: ${(0,errors/* errorMessage */.gJ)(error)}`));
            },
        };
    }
}

// EXTERNAL MODULE: ./shared/backup/method.ts
var method = __webpack_require__(59652);
// EXTERNAL MODULE: ./shared/engine/host-inputs.ts
var host_inputs = __webpack_require__(49505);
// EXTERNAL MODULE: ./shared/inputs.ts
var inputs = __webpack_require__(18573);
;// CONCATENATED MODULE: ./shared/backup/pgbackrest/inputs.ts




/** "sudo -u postgres" (words split on white space) or a JSON array, for words with spaces in them. */
function parseVia(text) {
    if (text === undefined)
        return [];
    if (text.startsWith('[')) {
        const parsed = (0,inputs/* jsonInput */.$1)('pgbackrest-via');
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
    const stanza = (0,inputs/* stringInput */.Uj)('pgbackrest-stanza', {
        pattern: STANZA_PATTERN,
        patternDescription: 'a pgBackRest stanza name (letters, digits, ".", "_" or "-")',
    });
    if (!stanza)
        throw new errors/* InputError */.dz('pgbackrest-stanza', 'is required with method "pgbackrest": the stanza (as in pgbackrest.conf) of the cluster.');
    const archiveTimeoutMs = (0,inputs/* durationInput */.Ts)('archive-timeout', { default: 60_000, min: 1000, max: 3_600_000 });
    return {
        stanza,
        config: (0,inputs/* stringInput */.Uj)('pgbackrest-config', {
            pattern: /^\//,
            patternDescription: 'an absolute path to pgbackrest.conf on the host pgBackRest runs on',
        }),
        via: parseVia((0,inputs/* stringInput */.Uj)('pgbackrest-via')),
        ssh: (0,host_inputs/* readSshTarget */.WI)(),
        archiveTimeoutSeconds: Math.ceil(archiveTimeoutMs / 1000),
        ...extra,
    };
}

// EXTERNAL MODULE: external "node:timers/promises"
var promises_ = __webpack_require__(58500);
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
        timeline: wal_parseSegmentFileName(row.segment)?.timeline ?? 1,
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
        await (0,promises_.setTimeout)(delay);
    }
    const failure = state?.last_failed_time && state.last_failed_time >= started
        ? ` The archiver's last failure: ${state.last_failed_wal} at ${state.last_failed_time.toISOString()} (see the server log for archive_command's error).`
        : '';
    throw new errors/* ActionError */.lZ(`WAL segment ${segment} was not archived within ${Math.round(timeoutMs / 1000)}s (last archived: ${state?.last_archived_wal ?? 'none'}).${failure}`);
}

// EXTERNAL MODULE: ./shared/postgres/connection.ts + 2 modules
var connection = __webpack_require__(6123);
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

// EXTERNAL MODULE: ./shared/backup/names.ts
var names = __webpack_require__(17717);
// EXTERNAL MODULE: ./shared/duration.ts
var duration = __webpack_require__(15784);
// EXTERNAL MODULE: ./shared/events.ts
var events = __webpack_require__(44121);
// EXTERNAL MODULE: ./shared/ledger/ledger.ts
var ledger = __webpack_require__(91397);
// EXTERNAL MODULE: ./shared/ledger/inputs.ts
var ledger_inputs = __webpack_require__(96929);
// EXTERNAL MODULE: ./shared/migrations/detect-history.ts + 8 modules
var detect_history = __webpack_require__(65579);
// EXTERNAL MODULE: ./shared/outputs.ts
var outputs = __webpack_require__(73624);
// EXTERNAL MODULE: ./shared/summary.ts
var summary = __webpack_require__(96566);
// EXTERNAL MODULE: ./actions/backup-db/summary.ts
var backup_db_summary = __webpack_require__(35210);
;// CONCATENATED MODULE: ./actions/backup-db/pgbackrest-summary.ts



function pgBackRestRestoreStep(input) {
    const { settings } = input.inputs;
    const lines = [
        `- uses: ${(0,backup_db_summary/* restoreActionRef */.gT)()}`,
        '  with:',
        '    method: pgbackrest',
        '    database-url: ${{ secrets.DATABASE_URL }}',
        `    pgbackrest-stanza: ${settings.stanza}`,
    ];
    if (settings.config)
        lines.push(`    pgbackrest-config: ${settings.config}`);
    if (settings.via.length)
        lines.push(`    pgbackrest-via: ${JSON.stringify(settings.via)}`);
    if (settings.ssh)
        lines.push(`    ssh-host: ${settings.ssh.host}`, '    ssh-key: ${{ secrets.DB_SSH_KEY }}', '    known-hosts: ${{ vars.DB_KNOWN_HOSTS }}');
    lines.push(`    restore-point: ${input.result.restorePoint.name}`, `    restore-point-lsn: ${input.result.restorePoint.lsn}`);
    lines.push('    # mode: replace   # in place: also give stop-command and start-command');
    return lines.join('\n');
}
function pgBackRestBackupSummary(input) {
    const { inputs, result } = input;
    const { restorePoint, backup } = result;
    return [
        `## ✅ Restore point: \`${restorePoint.name}\` (label \`${inputs.label}\`)\n`,
        (0,summary/* keyValueTable */.z2)([
            ['Database', `${(0,summary/* code */.aY)(inputs.target.database)}, PostgreSQL ${input.server}`],
            ['pgBackRest', `${input.pgBackRest}, stanza ${result.stanza}`],
            [
                'Restore point',
                `\`${restorePoint.name}\` at LSN ${restorePoint.lsn}, timeline ${restorePoint.timeline}, ${restorePoint.createdAt.toISOString()}`,
            ],
            ['WAL archived', `through ${result.archiveNewestWal} (the point's segment: ${restorePoint.segment})`],
            [
                'Backup',
                `${backup.label} (${backup.type}, finished ${backup.stoppedAt.toISOString()})${result.backupTaken ? ', taken by this step' : ', the newest in the repository'}`,
            ],
            ['App version', inputs.appVersion],
            ['Took', (0,duration/* formatDuration */.a)(input.durationMs)],
        ]),
        '\n### Return to it\n',
        (0,summary/* codeBlock */.DV)(pgBackRestRestoreStep(input), 'yaml'),
    ].join('');
}

;// CONCATENATED MODULE: ./actions/backup-db/pgbackrest.ts




















/**
 * backup-db with method "pgbackrest": for databases too big to dump before every rollback. A named
 * restore point is created (after a full/diff/incr backup when asked) and its WAL segment switched
 * out and found in the stanza's repository, which proves archiving end to end: whatever the
 * database's size, this takes well under a second, and restore-db can recover exactly to that point.
 */
const BACKUP_TYPES = ['none', 'full', 'diff', 'incr'];
/** Inputs only the dump method reads (those without defaults, so that setting them can be noticed). */
const DUMP_ONLY_INPUTS = [
    'tables',
    'exclude-tables',
    'encryption-key',
    'artifact-name',
    'output-dir',
    'pg-bin-dir',
];
function readPgBackRestBackupInputs(now) {
    (0,method/* rejectInputsOfOtherMethod */.B)('pgbackrest', DUMP_ONLY_INPUTS);
    const target = (0,connection/* resolvePgTarget */.hh)((0,inputs/* stringInput */.Uj)('database-url'));
    const label = (0,inputs/* stringInput */.Uj)('label', {
        default: 'default',
        pattern: names/* LABEL_PATTERN */.mW,
        patternDescription: names/* LABEL_DESCRIPTION */.Ck,
    });
    const settings = readPgBackRestSettings();
    return {
        target,
        settings,
        backupType: (0,inputs/* enumInput */.gX)('backup-type', BACKUP_TYPES, { default: 'none' }),
        restorePoint: (0,inputs/* stringInput */.Uj)('restore-point', {
            default: `${label.slice(0, 46)}-${(0,names/* compactTimestamp */.ce)(now)}`,
            pattern: RESTORE_POINT_NAME,
            patternDescription: RESTORE_POINT_DESCRIPTION,
        }),
        label,
        appVersion: (0,inputs/* stringInput */.Uj)('app-version'),
        ledger: (0,ledger_inputs/* readLedgerPath */.vc)(settings.ssh !== undefined, process.env.GITHUB_WORKSPACE || process.cwd()),
    };
}
function newBackup(before, after) {
    const known = new Set(before.map((backup) => backup.label));
    return after.filter((backup) => !known.has(backup.label)).at(-1);
}
/**
 * The newest archived segment in the repository directory of `segment` (one small listing instead of
 * a second `pgbackrest info`, which reads the whole archive's range); undefined when `segment` itself
 * is not there.
 */
async function newestArchivedFrom(host, info, segment) {
    const names = await archivedSegmentsIn(host, info, segment.slice(0, 16));
    return names.includes(segment) ? names.at(-1) : undefined;
}
/** pgBackRest's host and its stanza's info, read beside `pgbackrest version`. */
async function openStanza(settings) {
    const { host, value } = await PgBackRestHost.openWith(settings, (opened) => opened.info());
    return { host, before: value };
}
async function runPgBackRestBackup(started) {
    const inputs = readPgBackRestBackupInputs(new Date(started));
    const { settings } = inputs;
    // pgBackRest (two programs started, over SSH perhaps) is reached while the server is asked: the
    // restore point's duration is mostly these round trips, not the point itself. Its errors are
    // reported after the server's, in the order the checks read.
    const stanza = openStanza(settings);
    stanza.catch(() => undefined);
    let host;
    let client;
    try {
        client = await (0,connection/* connect */.Ng)(inputs.target, { applicationName: 'rollback-actions backup-db' });
        const server = await describeLiveServer(client);
        lib_core/* info */.pq(`Connected to ${(0,connection/* describeTarget */.ff)(inputs.target)}: PostgreSQL ${server.version.text}, system identifier ${server.systemId}.`);
        if (server.inRecovery)
            throw new errors/* ActionError */.lZ('The server is a standby (in recovery): restore points can only be created on the primary. Point database-url at the primary.');
        // With no backup to take first, the schema version is read while pgBackRest answers (the
        // connection queues it), still before the point; otherwise just before the point.
        const schemaEarly = inputs.backupType === 'none' ? (0,detect_history/* detectSchemaVersion */.t)(client) : undefined;
        schemaEarly?.catch(() => undefined);
        const opened = await stanza;
        host = opened.host;
        const { before } = opened;
        lib_core/* info */.pq(`pgBackRest ${host.version} on ${host.description}, stanza "${settings.stanza}".`);
        if (before.statusCode !== STANZA_OK && before.statusCode !== STANZA_NO_BACKUPS) {
            throw new errors/* ActionError */.lZ(`Stanza "${settings.stanza}" is not usable: ${before.statusMessage} (pgbackrest info status ${before.statusCode}). No restore point was created.`);
        }
        ensureStanzaOfServer(before, server);
        if (inputs.backupType === 'none' && before.backups.length === 0) {
            throw new errors/* ActionError */.lZ(`Stanza "${settings.stanza}" has no backup yet, and a restore point can only be recovered to from a backup taken before it. No restore point was created.`, {
                hint: 'Set backup-type: full for this run (or take one with pgbackrest backup).',
            });
        }
        (0,events/* emitEvent */.c)('backup_start', {
            database: inputs.target.database,
            label: inputs.label,
            method: 'pgbackrest',
            stanza: settings.stanza,
            server_version: server.version.text,
        });
        // With a backup to take, pgbackrest check proves archiving before the long backup runs. Without
        // one, the restore point's own segment, switched out and found in the repository below, proves
        // the same end to end, and a separate check (its own WAL switch and archive wait) only doubles
        // the time.
        if (inputs.backupType !== 'none') {
            try {
                await host.check();
            }
            catch (error) {
                throw new errors/* ActionError */.lZ(`WAL archiving of stanza "${settings.stanza}" does not work, so a restore point could not be recovered to: ${(0,errors/* errorMessage */.gJ)(error)}\nNo restore point was created.`);
            }
        }
        let backup = before.backups.at(-1);
        let backupTaken = false;
        if (inputs.backupType !== 'none') {
            await host.pgbackrestLogged(`pgbackrest backup --type=${inputs.backupType}`, 'backup', [
                `--type=${inputs.backupType}`,
            ]);
            backup = newBackup(before.backups, (await host.info()).backups);
            if (!backup)
                throw new errors/* ActionError */.lZ(`pgbackrest backup --type=${inputs.backupType} finished, but pgbackrest info lists no new backup.`);
            backupTaken = true;
            lib_core/* info */.pq(`Backup ${backup.label} (${backup.type}) taken.`);
        }
        const schemaVersion = await (schemaEarly ?? (0,detect_history/* detectSchemaVersion */.t)(client));
        const pointStarted = Date.now();
        const restorePoint = await createRestorePoint(client, inputs.restorePoint);
        const notArchived = (reason) => new errors/* ActionError */.lZ(`WAL archiving of stanza "${settings.stanza}" does not work: restore point "${restorePoint.name}" was created at ${restorePoint.lsn}, but its WAL segment ${restorePoint.segment} is not archived, so it cannot be recovered to. ${reason}\nNothing else was changed.`);
        let archivedSegment;
        try {
            archivedSegment = await archiveUpToNow(client, settings.archiveTimeoutSeconds * 1000);
        }
        catch (error) {
            throw notArchived((0,errors/* errorMessage */.gJ)(error));
        }
        lib_core/* info */.pq(`Restore point "${restorePoint.name}" at ${restorePoint.lsn} (timeline ${restorePoint.timeline}), archived with segment ${archivedSegment} in ${(0,duration/* formatDuration */.a)(Date.now() - pointStarted)}.`);
        const newest = await newestArchivedFrom(host, before, restorePoint.segment);
        if (!newest) {
            throw notArchived(`The server reports ${archivedSegment} archived, but stanza "${settings.stanza}" does not hold it: archive_command does not push to this stanza's repository.`);
        }
        const result = {
            stanza: settings.stanza,
            restorePoint,
            backup: backup,
            backupTaken,
            archiveNewestWal: newest,
            archivedSegment,
        };
        const durationMs = Date.now() - started;
        const metadata = {
            method: 'pgbackrest',
            stanza: settings.stanza,
            label: inputs.label,
            appVersion: inputs.appVersion ?? null,
            database: inputs.target.database,
            source: (0,connection/* describeTarget */.ff)(inputs.target),
            serverVersion: server.version.text,
            systemId: server.systemId,
            restorePoint: {
                name: restorePoint.name,
                lsn: restorePoint.lsn,
                time: restorePoint.createdAt.toISOString(),
                timeline: restorePoint.timeline,
                segment: restorePoint.segment,
            },
            backup: {
                label: result.backup.label,
                type: result.backup.type,
                taken: backupTaken,
                finishedAt: result.backup.stoppedAt.toISOString(),
            },
            archive: { newestWal: newest },
            schemaVersion: schemaVersion
                ? {
                    tool: schemaVersion.format,
                    table: schemaVersion.table,
                    version: schemaVersion.version,
                    dirty: schemaVersion.dirty,
                }
                : null,
            durationMs,
        };
        (0,outputs/* setOutputs */.n)({
            'restore-point': restorePoint.name,
            'restore-point-lsn': restorePoint.lsn,
            'restore-point-time': restorePoint.createdAt.toISOString(),
            'backup-label': result.backup.label,
            'archive-newest-wal': newest,
            metadata,
            'schema-version': schemaVersion?.version ?? '',
            'duration-ms': durationMs,
        });
        await (0,summary/* writeSummary */.Sy)(pgBackRestBackupSummary({
            inputs,
            result,
            server: server.version.text,
            pgBackRest: `${host.version} on ${(0,summary/* code */.aY)(host.description)}`,
            durationMs,
        }));
        (0,events/* emitEvent */.c)('backup_complete', {
            database: inputs.target.database,
            label: inputs.label,
            method: 'pgbackrest',
            restore_point: restorePoint.name,
            restore_point_lsn: restorePoint.lsn,
            backup_label: result.backup.label,
            schema_version: schemaVersion?.version ?? null,
            duration_ms: durationMs,
        });
        if (inputs.ledger)
            await recordRestorePoint(inputs, host, result, schemaVersion?.version ?? undefined);
        lib_core/* info */.pq(`Restore point ready in ${(0,duration/* formatDuration */.a)(durationMs)}.`);
    }
    finally {
        await client?.end().catch(() => undefined);
        await (host ?? (await stanza.then((opened) => opened.host).catch(() => undefined)))?.close();
    }
}
/**
 * The restore point as the ledger's backup entry, on the host pgBackRest runs on (its own user, not
 * pgbackrest-via's): what rollback.yml recovers to by name, findable when GitHub is not. A ledger
 * that cannot be written is a warning: the restore point exists either way.
 */
async function recordRestorePoint(inputs, host, result, schemaVersion) {
    const { restorePoint } = result;
    await (0,ledger/* appendLedger */.OC)({ path: inputs.ledger, executor: host.direct }, {
        type: 'backup',
        label: inputs.label,
        appVersion: inputs.appVersion,
        schemaVersion,
        location: `pgbackrest stanza ${result.stanza} on ${host.direct.description}: restore point ${restorePoint.name} at ${restorePoint.lsn}`,
        database: inputs.target.database,
        method: 'pgbackrest',
        restorePoint: {
            name: restorePoint.name,
            lsn: restorePoint.lsn,
            time: restorePoint.createdAt.toISOString(),
            timeline: restorePoint.timeline,
        },
        stanza: result.stanza,
        backupLabel: result.backup.label,
    }).catch((error) => lib_core/* warning */.$e((0,errors/* errorMessage */.gJ)(error)));
}


/***/ })

};
