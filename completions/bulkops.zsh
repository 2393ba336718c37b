#compdef bulkops

autoload -U is-at-least

_bulkops() {
    typeset -A opt_args
    typeset -a _arguments_options
    local ret=1

    if is-at-least 5.2; then
        _arguments_options=(-s -S -C)
    else
        _arguments_options=(-s -C)
    fi

    local context curcontext="$curcontext" state line
    _arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_bulkops_commands" \
"*::: :->bulkops" \
&& ret=0
    case $state in
    (bulkops)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-command-$line[1]:"
        case $line[1] in
            (runs)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
":: :_bulkops__subcmd__runs_commands" \
"*::: :->runs" \
&& ret=0

    case $state in
    (runs)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-runs-command-$line[1]:"
        case $line[1] in
            (cancel)
_arguments "${_arguments_options[@]}" : \
'-s+[Created after this time\: a duration ago (24h, 7d) or RFC 3339 (required for runs)]:TIME:_default' \
'--since=[Created after this time\: a duration ago (24h, 7d) or RFC 3339 (required for runs)]:TIME:_default' \
'--until=[Created up to this time \[default\: now, frozen when the job is created\]]:TIME:_default' \
'*-w+[Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE'\''s prefix gets it]:NAME|ID:_default' \
'*--workflow=[Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE'\''s prefix gets it]:NAME|ID:_default' \
'*--metadata=[Additional metadata key=value (repeatable; all must match)]:KEY=VALUE:_default' \
'--ids-file=[Act on exactly these ids\: one per line or a JSON array; \`-\` reads standard input]:FILE:_default' \
'*--status=[Run status (repeatable or comma-separated)\: QUEUED, RUNNING, COMPLETED, CANCELLED, FAILED]:STATUS:_default' \
'--concurrency=[Most chunks in flight at once (1 to 64) \[env\: BULKOPS_CONCURRENCY\] \[default\: 4\]]:N:_default' \
'--chunk-size=[Items per request (1 to 1000) \[env\: BULKOPS_CHUNK_SIZE\] \[default\: 500; replay 100; scheduled at most 500\]]:N:_default' \
'--rate=[Requests per second, for the whole process (0.01 to 1000000) \[env\: BULKOPS_RATE\] \[default\: 50\]]:R:_default' \
'--verify-timeout=[How long to wait for the server to confirm outcomes \[env\: BULKOPS_VERIFY_TIMEOUT\] \[default\: 120s\]]:DURATION:_default' \
'--request-timeout=[Per-request timeout \[env\: BULKOPS_REQUEST_TIMEOUT\] \[default\: 30s\]]:DURATION:_default' \
'--reason=[Why this job runs (kept with the job)]:TEXT:_default' \
'--job=[A stable job name (for cron)\: re-running resumes it while unfinished]:NAME:_default' \
'--metrics-addr=[Serve GET /metrics (Prometheus text format) on this IP\:PORT while the job (or the service) runs, e.g. 127.0.0.1\:9090 \[env\: BULKOPS_METRICS_ADDR\]]:IP:PORT:_default' \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--no-verify[Do not confirm outcomes on the server after execution]' \
'--dry-run[Count the matching items and show a few, without changing anything]' \
'-y[Do not ask for confirmation]' \
'--yes[Do not ask for confirmation]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(replay)
_arguments "${_arguments_options[@]}" : \
'-s+[Created after this time\: a duration ago (24h, 7d) or RFC 3339 (required for runs)]:TIME:_default' \
'--since=[Created after this time\: a duration ago (24h, 7d) or RFC 3339 (required for runs)]:TIME:_default' \
'--until=[Created up to this time \[default\: now, frozen when the job is created\]]:TIME:_default' \
'*-w+[Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE'\''s prefix gets it]:NAME|ID:_default' \
'*--workflow=[Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE'\''s prefix gets it]:NAME|ID:_default' \
'*--metadata=[Additional metadata key=value (repeatable; all must match)]:KEY=VALUE:_default' \
'--ids-file=[Act on exactly these ids\: one per line or a JSON array; \`-\` reads standard input]:FILE:_default' \
'*--status=[Run status (repeatable or comma-separated)\: QUEUED, RUNNING, COMPLETED, CANCELLED, FAILED]:STATUS:_default' \
'--chunk-size=[Items per request (1 to 1000) \[env\: BULKOPS_CHUNK_SIZE\] \[default\: 500; replay 100; scheduled at most 500\]]:N:_default' \
'--rate=[Requests per second, for the whole process (0.01 to 1000000) \[env\: BULKOPS_RATE\] \[default\: 50\]]:R:_default' \
'--verify-timeout=[How long to wait for the server to confirm outcomes \[env\: BULKOPS_VERIFY_TIMEOUT\] \[default\: 120s\]]:DURATION:_default' \
'--request-timeout=[Per-request timeout \[env\: BULKOPS_REQUEST_TIMEOUT\] \[default\: 30s\]]:DURATION:_default' \
'--reason=[Why this job runs (kept with the job)]:TEXT:_default' \
'--job=[A stable job name (for cron)\: re-running resumes it while unfinished]:NAME:_default' \
'--metrics-addr=[Serve GET /metrics (Prometheus text format) on this IP\:PORT while the job (or the service) runs, e.g. 127.0.0.1\:9090 \[env\: BULKOPS_METRICS_ADDR\]]:IP:PORT:_default' \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--no-verify[Do not confirm outcomes on the server after execution]' \
'--dry-run[Count the matching items and show a few, without changing anything]' \
'-y[Do not ask for confirmation]' \
'--yes[Do not ask for confirmation]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__runs__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-runs-help-command-$line[1]:"
        case $line[1] in
            (cancel)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(replay)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(scheduled)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
":: :_bulkops__subcmd__scheduled_commands" \
"*::: :->scheduled" \
&& ret=0

    case $state in
    (scheduled)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-scheduled-command-$line[1]:"
        case $line[1] in
            (delete)
_arguments "${_arguments_options[@]}" : \
'-s+[Created after this time\: a duration ago (24h, 7d) or RFC 3339 (required for runs)]:TIME:_default' \
'--since=[Created after this time\: a duration ago (24h, 7d) or RFC 3339 (required for runs)]:TIME:_default' \
'--until=[Created up to this time \[default\: now, frozen when the job is created\]]:TIME:_default' \
'*-w+[Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE'\''s prefix gets it]:NAME|ID:_default' \
'*--workflow=[Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE'\''s prefix gets it]:NAME|ID:_default' \
'*--metadata=[Additional metadata key=value (repeatable; all must match)]:KEY=VALUE:_default' \
'--ids-file=[Act on exactly these ids\: one per line or a JSON array; \`-\` reads standard input]:FILE:_default' \
'--trigger-after=[Rows due at or after this time\: RFC 3339, or +2h (from now) / -1d (ago)]:TIME:_default' \
'--trigger-before=[Rows due before this time\: RFC 3339, or +2h (from now) / -1d (ago)]:TIME:_default' \
'--concurrency=[Most chunks in flight at once (1 to 64) \[env\: BULKOPS_CONCURRENCY\] \[default\: 4\]]:N:_default' \
'--chunk-size=[Items per request (1 to 1000) \[env\: BULKOPS_CHUNK_SIZE\] \[default\: 500; replay 100; scheduled at most 500\]]:N:_default' \
'--rate=[Requests per second, for the whole process (0.01 to 1000000) \[env\: BULKOPS_RATE\] \[default\: 50\]]:R:_default' \
'--verify-timeout=[How long to wait for the server to confirm outcomes \[env\: BULKOPS_VERIFY_TIMEOUT\] \[default\: 120s\]]:DURATION:_default' \
'--request-timeout=[Per-request timeout \[env\: BULKOPS_REQUEST_TIMEOUT\] \[default\: 30s\]]:DURATION:_default' \
'--reason=[Why this job runs (kept with the job)]:TEXT:_default' \
'--job=[A stable job name (for cron)\: re-running resumes it while unfinished]:NAME:_default' \
'--metrics-addr=[Serve GET /metrics (Prometheus text format) on this IP\:PORT while the job (or the service) runs, e.g. 127.0.0.1\:9090 \[env\: BULKOPS_METRICS_ADDR\]]:IP:PORT:_default' \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--no-verify[Do not confirm outcomes on the server after execution]' \
'--dry-run[Count the matching items and show a few, without changing anything]' \
'-y[Do not ask for confirmation]' \
'--yes[Do not ask for confirmation]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(reschedule)
_arguments "${_arguments_options[@]}" : \
'(--shift)--to=[New trigger time for every row (RFC 3339)]:TIME:_default' \
'--shift=[Move every row by this much (1h, -30m, 2d)]:DURATION:_default' \
'-s+[Created after this time\: a duration ago (24h, 7d) or RFC 3339 (required for runs)]:TIME:_default' \
'--since=[Created after this time\: a duration ago (24h, 7d) or RFC 3339 (required for runs)]:TIME:_default' \
'--until=[Created up to this time \[default\: now, frozen when the job is created\]]:TIME:_default' \
'*-w+[Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE'\''s prefix gets it]:NAME|ID:_default' \
'*--workflow=[Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE'\''s prefix gets it]:NAME|ID:_default' \
'*--metadata=[Additional metadata key=value (repeatable; all must match)]:KEY=VALUE:_default' \
'--ids-file=[Act on exactly these ids\: one per line or a JSON array; \`-\` reads standard input]:FILE:_default' \
'--trigger-after=[Rows due at or after this time\: RFC 3339, or +2h (from now) / -1d (ago)]:TIME:_default' \
'--trigger-before=[Rows due before this time\: RFC 3339, or +2h (from now) / -1d (ago)]:TIME:_default' \
'--concurrency=[Most chunks in flight at once (1 to 64) \[env\: BULKOPS_CONCURRENCY\] \[default\: 4\]]:N:_default' \
'--chunk-size=[Items per request (1 to 1000) \[env\: BULKOPS_CHUNK_SIZE\] \[default\: 500; replay 100; scheduled at most 500\]]:N:_default' \
'--rate=[Requests per second, for the whole process (0.01 to 1000000) \[env\: BULKOPS_RATE\] \[default\: 50\]]:R:_default' \
'--verify-timeout=[How long to wait for the server to confirm outcomes \[env\: BULKOPS_VERIFY_TIMEOUT\] \[default\: 120s\]]:DURATION:_default' \
'--request-timeout=[Per-request timeout \[env\: BULKOPS_REQUEST_TIMEOUT\] \[default\: 30s\]]:DURATION:_default' \
'--reason=[Why this job runs (kept with the job)]:TEXT:_default' \
'--job=[A stable job name (for cron)\: re-running resumes it while unfinished]:NAME:_default' \
'--metrics-addr=[Serve GET /metrics (Prometheus text format) on this IP\:PORT while the job (or the service) runs, e.g. 127.0.0.1\:9090 \[env\: BULKOPS_METRICS_ADDR\]]:IP:PORT:_default' \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--allow-past[Accept targets in the past (such rows fire at once)]' \
'--again[Run a \`--shift\` again although the same job already finished (it moves the rows again)]' \
'--no-verify[Do not confirm outcomes on the server after execution]' \
'--dry-run[Count the matching items and show a few, without changing anything]' \
'-y[Do not ask for confirmation]' \
'--yes[Do not ask for confirmation]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__scheduled__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-scheduled-help-command-$line[1]:"
        case $line[1] in
            (delete)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(reschedule)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(crons)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
":: :_bulkops__subcmd__crons_commands" \
"*::: :->crons" \
&& ret=0

    case $state in
    (crons)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-crons-command-$line[1]:"
        case $line[1] in
            (delete)
_arguments "${_arguments_options[@]}" : \
'-s+[Created after this time\: a duration ago (24h, 7d) or RFC 3339 (required for runs)]:TIME:_default' \
'--since=[Created after this time\: a duration ago (24h, 7d) or RFC 3339 (required for runs)]:TIME:_default' \
'--until=[Created up to this time \[default\: now, frozen when the job is created\]]:TIME:_default' \
'*-w+[Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE'\''s prefix gets it]:NAME|ID:_default' \
'*--workflow=[Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE'\''s prefix gets it]:NAME|ID:_default' \
'*--metadata=[Additional metadata key=value (repeatable; all must match)]:KEY=VALUE:_default' \
'--ids-file=[Act on exactly these ids\: one per line or a JSON array; \`-\` reads standard input]:FILE:_default' \
'*--cron-name=[Cron name (repeatable)]:NAME:_default' \
'--concurrency=[Most chunks in flight at once (1 to 64) \[env\: BULKOPS_CONCURRENCY\] \[default\: 4\]]:N:_default' \
'--rate=[Requests per second, for the whole process (0.01 to 1000000) \[env\: BULKOPS_RATE\] \[default\: 50\]]:R:_default' \
'--verify-timeout=[How long to wait for the server to confirm outcomes \[env\: BULKOPS_VERIFY_TIMEOUT\] \[default\: 120s\]]:DURATION:_default' \
'--request-timeout=[Per-request timeout \[env\: BULKOPS_REQUEST_TIMEOUT\] \[default\: 30s\]]:DURATION:_default' \
'--reason=[Why this job runs (kept with the job)]:TEXT:_default' \
'--job=[A stable job name (for cron)\: re-running resumes it while unfinished]:NAME:_default' \
'--metrics-addr=[Serve GET /metrics (Prometheus text format) on this IP\:PORT while the job (or the service) runs, e.g. 127.0.0.1\:9090 \[env\: BULKOPS_METRICS_ADDR\]]:IP:PORT:_default' \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--include-code-defined[Also delete code-defined crons (they come back on the next deploy)]' \
'--no-verify[Do not confirm outcomes on the server after execution]' \
'--dry-run[Count the matching items and show a few, without changing anything]' \
'-y[Do not ask for confirmation]' \
'--yes[Do not ask for confirmation]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__crons__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-crons-help-command-$line[1]:"
        case $line[1] in
            (delete)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(handinger)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
":: :_bulkops__subcmd__handinger_commands" \
"*::: :->handinger" \
&& ret=0

    case $state in
    (handinger)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-handinger-command-$line[1]:"
        case $line[1] in
            (schedules)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
":: :_bulkops__subcmd__handinger__subcmd__schedules_commands" \
"*::: :->schedules" \
&& ret=0

    case $state in
    (schedules)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-handinger-schedules-command-$line[1]:"
        case $line[1] in
            (list)
_arguments "${_arguments_options[@]}" : \
'*--worker=[Worker id (repeatable)]:ID:_default' \
'--workers-file=[Worker ids, one a line (\`#\` comments); \`-\` reads standard input]:FILE|-:_default' \
'*--type=[Schedule type (repeatable)\: scheduled, delayed, cron, interval \[default\: every type\]]:TYPE:_default' \
'*--budget=[Budget (repeatable)\: low, standard, high, unlimited \[default\: every budget\]]:BUDGET:_default' \
'--next-run-after=[Next run after this time\: RFC 3339, or +2h (from now) / -1d (ago)]:TIME:_default' \
'--next-run-before=[Next run before this time\: RFC 3339, or +2h (from now) / -1d (ago)]:TIME:_default' \
'--input-contains=[Only schedules whose input contains this text]:TEXT:_default' \
'--ids-file=[Only these schedule ids (of the workers given)\: one a line (\`#\` comments; \`worker/id\` as a report writes them); \`-\` reads standard input]:FILE:_default' \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(cancel)
_arguments "${_arguments_options[@]}" : \
'*--worker=[Worker id (repeatable)]:ID:_default' \
'--workers-file=[Worker ids, one a line (\`#\` comments); \`-\` reads standard input]:FILE|-:_default' \
'*--type=[Schedule type (repeatable)\: scheduled, delayed, cron, interval \[default\: every type\]]:TYPE:_default' \
'*--budget=[Budget (repeatable)\: low, standard, high, unlimited \[default\: every budget\]]:BUDGET:_default' \
'--next-run-after=[Next run after this time\: RFC 3339, or +2h (from now) / -1d (ago)]:TIME:_default' \
'--next-run-before=[Next run before this time\: RFC 3339, or +2h (from now) / -1d (ago)]:TIME:_default' \
'--input-contains=[Only schedules whose input contains this text]:TEXT:_default' \
'--ids-file=[Only these schedule ids (of the workers given)\: one a line (\`#\` comments; \`worker/id\` as a report writes them); \`-\` reads standard input]:FILE:_default' \
'--concurrency=[Most chunks in flight at once (1 to 64) \[env\: BULKOPS_CONCURRENCY\] \[default\: 4\]]:N:_default' \
'--chunk-size=[Schedules per chunk, one request each (1 to 1000) \[env\: BULKOPS_CHUNK_SIZE\] \[default\: cancel 50, at most 500; reschedule 25, at most 200\]]:N:_default' \
'--rate=[Requests per second, for the whole process (0.01 to 1000000) \[env\: BULKOPS_RATE\] \[default\: 50\]]:R:_default' \
'--request-timeout=[Per-request timeout \[env\: BULKOPS_REQUEST_TIMEOUT\] \[default\: 30s\]]:DURATION:_default' \
'--reason=[Why this job runs (kept with the job)]:TEXT:_default' \
'--job=[A stable job name (for cron)\: re-running resumes it while unfinished]:NAME:_default' \
'--metrics-addr=[Serve GET /metrics (Prometheus text format) on this IP\:PORT while the job (or the service) runs, e.g. 127.0.0.1\:9090 \[env\: BULKOPS_METRICS_ADDR\]]:IP:PORT:_default' \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--dry-run[Count the matching items and show a few, without changing anything]' \
'-y[Do not ask for confirmation]' \
'--yes[Do not ask for confirmation]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(reschedule)
_arguments "${_arguments_options[@]}" : \
'--to=[New time for one-off (scheduled, delayed) schedules\: RFC 3339]:TIME:_default' \
'--shift=[Move one-off schedules'\'' next run by this much (1h, -30m, 2d)]:DURATION:_default' \
'--cron=[Replace recurring (cron, interval) schedules by this cron rule (five fields)]:EXPR:_default' \
'--interval=[Replace recurring schedules by an interval of this many seconds]:SECONDS:_default' \
'*--worker=[Worker id (repeatable)]:ID:_default' \
'--workers-file=[Worker ids, one a line (\`#\` comments); \`-\` reads standard input]:FILE|-:_default' \
'*--type=[Schedule type (repeatable)\: scheduled, delayed, cron, interval \[default\: every type\]]:TYPE:_default' \
'*--budget=[Budget (repeatable)\: low, standard, high, unlimited \[default\: every budget\]]:BUDGET:_default' \
'--next-run-after=[Next run after this time\: RFC 3339, or +2h (from now) / -1d (ago)]:TIME:_default' \
'--next-run-before=[Next run before this time\: RFC 3339, or +2h (from now) / -1d (ago)]:TIME:_default' \
'--input-contains=[Only schedules whose input contains this text]:TEXT:_default' \
'--ids-file=[Only these schedule ids (of the workers given)\: one a line (\`#\` comments; \`worker/id\` as a report writes them); \`-\` reads standard input]:FILE:_default' \
'--chunk-size=[Schedules per chunk, one request each (1 to 1000) \[env\: BULKOPS_CHUNK_SIZE\] \[default\: cancel 50, at most 500; reschedule 25, at most 200\]]:N:_default' \
'--rate=[Requests per second, for the whole process (0.01 to 1000000) \[env\: BULKOPS_RATE\] \[default\: 50\]]:R:_default' \
'--verify-timeout=[How long to wait for the server to confirm outcomes \[env\: BULKOPS_VERIFY_TIMEOUT\] \[default\: 120s\]]:DURATION:_default' \
'--request-timeout=[Per-request timeout \[env\: BULKOPS_REQUEST_TIMEOUT\] \[default\: 30s\]]:DURATION:_default' \
'--reason=[Why this job runs (kept with the job)]:TEXT:_default' \
'--job=[A stable job name (for cron)\: re-running resumes it while unfinished]:NAME:_default' \
'--metrics-addr=[Serve GET /metrics (Prometheus text format) on this IP\:PORT while the job (or the service) runs, e.g. 127.0.0.1\:9090 \[env\: BULKOPS_METRICS_ADDR\]]:IP:PORT:_default' \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--no-verify[Do not confirm outcomes on the server after execution]' \
'--dry-run[Count the matching items and show a few, without changing anything]' \
'-y[Do not ask for confirmation]' \
'--yes[Do not ask for confirmation]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__handinger__subcmd__schedules__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-handinger-schedules-help-command-$line[1]:"
        case $line[1] in
            (list)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(cancel)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(reschedule)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__handinger__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-handinger-help-command-$line[1]:"
        case $line[1] in
            (schedules)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__handinger__subcmd__help__subcmd__schedules_commands" \
"*::: :->schedules" \
&& ret=0

    case $state in
    (schedules)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-handinger-help-schedules-command-$line[1]:"
        case $line[1] in
            (list)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(cancel)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(reschedule)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(jobs)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
":: :_bulkops__subcmd__jobs_commands" \
"*::: :->jobs" \
&& ret=0

    case $state in
    (jobs)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-jobs-command-$line[1]:"
        case $line[1] in
            (list)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(show)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-w[Follow the job until it ends, as \`bulkops jobs watch\` does]' \
'--watch[Follow the job until it ends, as \`bulkops jobs watch\` does]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':job -- Job id, as `bulkops jobs list` shows it:_default' \
&& ret=0
;;
(watch)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':job -- Job id, as `bulkops jobs list` shows it:_default' \
&& ret=0
;;
(resume)
_arguments "${_arguments_options[@]}" : \
'--concurrency=[Most chunks in flight at once, for this run (1 to 64; not for a replay, which sends one request at a time) \[default\: the job'\''s own, as it was created\]]:N:_default' \
'--rate=[Requests per second, for the whole process (0.01 to 1000000) \[env\: BULKOPS_RATE\] \[default\: 50\]]:R:_default' \
'--verify-timeout=[How long to wait for the server to confirm outcomes \[env\: BULKOPS_VERIFY_TIMEOUT\] \[default\: 120s\]]:DURATION:_default' \
'--request-timeout=[Per-request timeout \[env\: BULKOPS_REQUEST_TIMEOUT\] \[default\: 30s\]]:DURATION:_default' \
'--metrics-addr=[Serve GET /metrics (Prometheus text format) on this IP\:PORT while the job (or the service) runs, e.g. 127.0.0.1\:9090 \[env\: BULKOPS_METRICS_ADDR\]]:IP:PORT:_default' \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--no-verify[Do not confirm outcomes on the server after execution]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':job -- Job id, as `bulkops jobs list` shows it:_default' \
&& ret=0
;;
(pause)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':job -- Job id, as `bulkops jobs list` shows it:_default' \
&& ret=0
;;
(retune)
_arguments "${_arguments_options[@]}" : \
'--rate=[New requests per second, for the whole process (0.01 to 1000000)]:R:_default' \
'--concurrency=[New most chunks in flight (1 to 64; not for a job that sends one request at a time\: replay, Handinger reschedule)]:N:_default' \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':job -- Job id, as `bulkops jobs list` shows it:_default' \
&& ret=0
;;
(abort)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':job -- Job id, as `bulkops jobs list` shows it:_default' \
&& ret=0
;;
(undo)
_arguments "${_arguments_options[@]}" : \
'--concurrency=[Most chunks in flight at once (1 to 64) \[env\: BULKOPS_CONCURRENCY\] \[default\: 4\]]:N:_default' \
'--rate=[Requests per second, for the whole process (0.01 to 1000000) \[env\: BULKOPS_RATE\] \[default\: 50\]]:R:_default' \
'--verify-timeout=[How long to wait for the server to confirm outcomes \[env\: BULKOPS_VERIFY_TIMEOUT\] \[default\: 120s\]]:DURATION:_default' \
'--request-timeout=[Per-request timeout \[env\: BULKOPS_REQUEST_TIMEOUT\] \[default\: 30s\]]:DURATION:_default' \
'--reason=[Why this job runs (kept with the job)]:TEXT:_default' \
'--metrics-addr=[Serve GET /metrics (Prometheus text format) on this IP\:PORT while the job (or the service) runs, e.g. 127.0.0.1\:9090 \[env\: BULKOPS_METRICS_ADDR\]]:IP:PORT:_default' \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--no-verify[Do not confirm outcomes on the server after execution]' \
'--dry-run[Count the matching items and show a few, without changing anything]' \
'-y[Do not ask for confirmation]' \
'--yes[Do not ask for confirmation]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':job -- Job id, as `bulkops jobs list` shows it:_default' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__jobs__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-jobs-help-command-$line[1]:"
        case $line[1] in
            (list)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(show)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(watch)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(resume)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(pause)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(retune)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(abort)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(undo)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(report)
_arguments "${_arguments_options[@]}" : \
'--format=[csv (a header line, then a row per item) or json (JSON lines\: an object per item); it wins over -o \[default\: json with -o json, else csv\]]:FORMAT:(csv json)' \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--failed[Only failed, skipped and unconfirmed items]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':job -- Job id, as `bulkops jobs list` shows it:_default' \
&& ret=0
;;
(completions)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':shell:(bash elvish fish powershell zsh)' \
&& ret=0
;;
(manpage)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(config)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
":: :_bulkops__subcmd__config_commands" \
"*::: :->config" \
&& ret=0

    case $state in
    (config)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-config-command-$line[1]:"
        case $line[1] in
            (show)
_arguments "${_arguments_options[@]}" : \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__config__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-config-help-command-$line[1]:"
        case $line[1] in
            (show)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(serve)
_arguments "${_arguments_options[@]}" : \
'--listen=[Address and port to listen on (port 0\: any free one, printed on stdout); an address other hosts reach needs an API token]:ADDR:_default' \
'--jobs-dir=[Scheduled jobs\: every *.toml file of DIR, a cron expression (UTC) and a job as POST /jobs takes it (see config/jobs/); each firing is an ordinary job named after its file, and a firing while the previous run still goes is skipped]:DIR:_files' \
'--metrics-addr=[Serve GET /metrics (Prometheus text format) on this IP\:PORT while the job (or the service) runs, e.g. 127.0.0.1\:9090 \[env\: BULKOPS_METRICS_ADDR\]]:IP:PORT:_default' \
'--state=[Checkpoint store\: a SQLite file, or a PostgreSQL database shared by hosts (postgres\://user\:password@host\:5432/db) \[env\: BULKOPS_STATE\] \[default\: \$XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db\]]:PATH|URL:_files' \
'--reports-dir=[Where finished jobs'\'' reports are written \[env\: BULKOPS_REPORTS_DIR\] \[default\: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL\]]:DIR:_files' \
'--config=[Extra settings file (TOML), between the defaults and BULKOPS_* variables]:FILE:_files' \
'--log-format=[Log format\: text, json or auto (text on a terminal) \[env\: BULKOPS_LOG_FORMAT\] \[default\: auto\]]:FORMAT:_default' \
'-o+[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--output=[What stdout carries\: text, or json (JSON objects; listings as JSON lines)]:OUTPUT:(text json)' \
'--check-config[Check the flags, the configuration, every scheduled job and the addresses (bound and let go) as serve does before it serves, then exit (0, or 2 naming the fix) without serving or running anything]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-help-command-$line[1]:"
        case $line[1] in
            (runs)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__help__subcmd__runs_commands" \
"*::: :->runs" \
&& ret=0

    case $state in
    (runs)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-help-runs-command-$line[1]:"
        case $line[1] in
            (cancel)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(replay)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(scheduled)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__help__subcmd__scheduled_commands" \
"*::: :->scheduled" \
&& ret=0

    case $state in
    (scheduled)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-help-scheduled-command-$line[1]:"
        case $line[1] in
            (delete)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(reschedule)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(crons)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__help__subcmd__crons_commands" \
"*::: :->crons" \
&& ret=0

    case $state in
    (crons)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-help-crons-command-$line[1]:"
        case $line[1] in
            (delete)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(handinger)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__help__subcmd__handinger_commands" \
"*::: :->handinger" \
&& ret=0

    case $state in
    (handinger)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-help-handinger-command-$line[1]:"
        case $line[1] in
            (schedules)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__help__subcmd__handinger__subcmd__schedules_commands" \
"*::: :->schedules" \
&& ret=0

    case $state in
    (schedules)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-help-handinger-schedules-command-$line[1]:"
        case $line[1] in
            (list)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(cancel)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(reschedule)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(jobs)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__help__subcmd__jobs_commands" \
"*::: :->jobs" \
&& ret=0

    case $state in
    (jobs)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-help-jobs-command-$line[1]:"
        case $line[1] in
            (list)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(show)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(watch)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(resume)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(pause)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(retune)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(abort)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(undo)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(report)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(completions)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(manpage)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(config)
_arguments "${_arguments_options[@]}" : \
":: :_bulkops__subcmd__help__subcmd__config_commands" \
"*::: :->config" \
&& ret=0

    case $state in
    (config)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:bulkops-help-config-command-$line[1]:"
        case $line[1] in
            (show)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(serve)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
}

(( $+functions[_bulkops_commands] )) ||
_bulkops_commands() {
    local commands; commands=(
'runs:Workflow runs' \
'scheduled:Scheduled runs' \
'crons:Cron triggers' \
'handinger:Handinger worker schedules (HANDINGER_API_KEY, HANDINGER_BASE_URL)' \
'jobs:Jobs in the state store' \
'report:Per-item report of a job\: CSV, or JSON lines (one object per item)' \
'completions:Print the shell completion script, e.g. \`bulkops completions bash > /etc/bash_completion.d/bulkops\`' \
'manpage:Print the manual page (roff), e.g. \`bulkops manpage | man -l -\`' \
'config:The effective configuration' \
'serve:Serve the HTTP API\: submit, follow, steer and report jobs, which run in this process' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__completions_commands] )) ||
_bulkops__subcmd__completions_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops completions commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__config_commands] )) ||
_bulkops__subcmd__config_commands() {
    local commands; commands=(
'show:Print every setting with its source (default, file, env, flag) and the connection variables, secrets masked' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops config commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__config__subcmd__help_commands] )) ||
_bulkops__subcmd__config__subcmd__help_commands() {
    local commands; commands=(
'show:Print every setting with its source (default, file, env, flag) and the connection variables, secrets masked' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops config help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__config__subcmd__help__subcmd__help_commands] )) ||
_bulkops__subcmd__config__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops config help help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__config__subcmd__help__subcmd__show_commands] )) ||
_bulkops__subcmd__config__subcmd__help__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops config help show commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__config__subcmd__show_commands] )) ||
_bulkops__subcmd__config__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops config show commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__crons_commands] )) ||
_bulkops__subcmd__crons_commands() {
    local commands; commands=(
'delete:Delete every matching cron trigger (one request each)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops crons commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__crons__subcmd__delete_commands] )) ||
_bulkops__subcmd__crons__subcmd__delete_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops crons delete commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__crons__subcmd__help_commands] )) ||
_bulkops__subcmd__crons__subcmd__help_commands() {
    local commands; commands=(
'delete:Delete every matching cron trigger (one request each)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops crons help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__crons__subcmd__help__subcmd__delete_commands] )) ||
_bulkops__subcmd__crons__subcmd__help__subcmd__delete_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops crons help delete commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__crons__subcmd__help__subcmd__help_commands] )) ||
_bulkops__subcmd__crons__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops crons help help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger_commands] )) ||
_bulkops__subcmd__handinger_commands() {
    local commands; commands=(
'schedules:Worker schedules (one-off, delayed, cron, interval)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops handinger commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__help_commands] )) ||
_bulkops__subcmd__handinger__subcmd__help_commands() {
    local commands; commands=(
'schedules:Worker schedules (one-off, delayed, cron, interval)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops handinger help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__help__subcmd__help_commands] )) ||
_bulkops__subcmd__handinger__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops handinger help help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__help__subcmd__schedules_commands] )) ||
_bulkops__subcmd__handinger__subcmd__help__subcmd__schedules_commands() {
    local commands; commands=(
'list:Print every schedule the selection holds, changing nothing (the dry run of the others)' \
'cancel:Cancel every selected schedule, one request each' \
'reschedule:Replace every selected schedule\: create the new one, then cancel the original (\`jobs undo\` puts the originals back)' \
    )
    _describe -t commands 'bulkops handinger help schedules commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__help__subcmd__schedules__subcmd__cancel_commands] )) ||
_bulkops__subcmd__handinger__subcmd__help__subcmd__schedules__subcmd__cancel_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops handinger help schedules cancel commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__help__subcmd__schedules__subcmd__list_commands] )) ||
_bulkops__subcmd__handinger__subcmd__help__subcmd__schedules__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops handinger help schedules list commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__help__subcmd__schedules__subcmd__reschedule_commands] )) ||
_bulkops__subcmd__handinger__subcmd__help__subcmd__schedules__subcmd__reschedule_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops handinger help schedules reschedule commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__schedules_commands] )) ||
_bulkops__subcmd__handinger__subcmd__schedules_commands() {
    local commands; commands=(
'list:Print every schedule the selection holds, changing nothing (the dry run of the others)' \
'cancel:Cancel every selected schedule, one request each' \
'reschedule:Replace every selected schedule\: create the new one, then cancel the original (\`jobs undo\` puts the originals back)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops handinger schedules commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__schedules__subcmd__cancel_commands] )) ||
_bulkops__subcmd__handinger__subcmd__schedules__subcmd__cancel_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops handinger schedules cancel commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__schedules__subcmd__help_commands] )) ||
_bulkops__subcmd__handinger__subcmd__schedules__subcmd__help_commands() {
    local commands; commands=(
'list:Print every schedule the selection holds, changing nothing (the dry run of the others)' \
'cancel:Cancel every selected schedule, one request each' \
'reschedule:Replace every selected schedule\: create the new one, then cancel the original (\`jobs undo\` puts the originals back)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops handinger schedules help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__schedules__subcmd__help__subcmd__cancel_commands] )) ||
_bulkops__subcmd__handinger__subcmd__schedules__subcmd__help__subcmd__cancel_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops handinger schedules help cancel commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__schedules__subcmd__help__subcmd__help_commands] )) ||
_bulkops__subcmd__handinger__subcmd__schedules__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops handinger schedules help help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__schedules__subcmd__help__subcmd__list_commands] )) ||
_bulkops__subcmd__handinger__subcmd__schedules__subcmd__help__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops handinger schedules help list commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__schedules__subcmd__help__subcmd__reschedule_commands] )) ||
_bulkops__subcmd__handinger__subcmd__schedules__subcmd__help__subcmd__reschedule_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops handinger schedules help reschedule commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__schedules__subcmd__list_commands] )) ||
_bulkops__subcmd__handinger__subcmd__schedules__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops handinger schedules list commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__handinger__subcmd__schedules__subcmd__reschedule_commands] )) ||
_bulkops__subcmd__handinger__subcmd__schedules__subcmd__reschedule_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops handinger schedules reschedule commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help_commands] )) ||
_bulkops__subcmd__help_commands() {
    local commands; commands=(
'runs:Workflow runs' \
'scheduled:Scheduled runs' \
'crons:Cron triggers' \
'handinger:Handinger worker schedules (HANDINGER_API_KEY, HANDINGER_BASE_URL)' \
'jobs:Jobs in the state store' \
'report:Per-item report of a job\: CSV, or JSON lines (one object per item)' \
'completions:Print the shell completion script, e.g. \`bulkops completions bash > /etc/bash_completion.d/bulkops\`' \
'manpage:Print the manual page (roff), e.g. \`bulkops manpage | man -l -\`' \
'config:The effective configuration' \
'serve:Serve the HTTP API\: submit, follow, steer and report jobs, which run in this process' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__completions_commands] )) ||
_bulkops__subcmd__help__subcmd__completions_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help completions commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__config_commands] )) ||
_bulkops__subcmd__help__subcmd__config_commands() {
    local commands; commands=(
'show:Print every setting with its source (default, file, env, flag) and the connection variables, secrets masked' \
    )
    _describe -t commands 'bulkops help config commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__config__subcmd__show_commands] )) ||
_bulkops__subcmd__help__subcmd__config__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help config show commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__crons_commands] )) ||
_bulkops__subcmd__help__subcmd__crons_commands() {
    local commands; commands=(
'delete:Delete every matching cron trigger (one request each)' \
    )
    _describe -t commands 'bulkops help crons commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__crons__subcmd__delete_commands] )) ||
_bulkops__subcmd__help__subcmd__crons__subcmd__delete_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help crons delete commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__handinger_commands] )) ||
_bulkops__subcmd__help__subcmd__handinger_commands() {
    local commands; commands=(
'schedules:Worker schedules (one-off, delayed, cron, interval)' \
    )
    _describe -t commands 'bulkops help handinger commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__handinger__subcmd__schedules_commands] )) ||
_bulkops__subcmd__help__subcmd__handinger__subcmd__schedules_commands() {
    local commands; commands=(
'list:Print every schedule the selection holds, changing nothing (the dry run of the others)' \
'cancel:Cancel every selected schedule, one request each' \
'reschedule:Replace every selected schedule\: create the new one, then cancel the original (\`jobs undo\` puts the originals back)' \
    )
    _describe -t commands 'bulkops help handinger schedules commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__handinger__subcmd__schedules__subcmd__cancel_commands] )) ||
_bulkops__subcmd__help__subcmd__handinger__subcmd__schedules__subcmd__cancel_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help handinger schedules cancel commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__handinger__subcmd__schedules__subcmd__list_commands] )) ||
_bulkops__subcmd__help__subcmd__handinger__subcmd__schedules__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help handinger schedules list commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__handinger__subcmd__schedules__subcmd__reschedule_commands] )) ||
_bulkops__subcmd__help__subcmd__handinger__subcmd__schedules__subcmd__reschedule_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help handinger schedules reschedule commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__help_commands] )) ||
_bulkops__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__jobs_commands] )) ||
_bulkops__subcmd__help__subcmd__jobs_commands() {
    local commands; commands=(
'list:List jobs with their state and counts' \
'show:Show one job\: its state, selection, target and counts' \
'watch:Follow a job another process runs\: its state, counts, rate and time left' \
'resume:Resume an unfinished job' \
'pause:Pause a running job\: the process running it finishes its in-flight chunks and exits 3; \`jobs resume\` (or the same command) continues it' \
'retune:Change a job'\''s requests per second or chunks in flight, in the process running it (within a second) and on every later resume' \
'abort:Give up on an unfinished job\: nothing more is sent for it (a process running it stops after its in-flight chunks), and the same command then starts a new job' \
'undo:Undo a finished job\: re-create deleted scheduled runs, restore previous trigger times, or (for a cancel) write the ids it cancelled and print the matching replay' \
    )
    _describe -t commands 'bulkops help jobs commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__jobs__subcmd__abort_commands] )) ||
_bulkops__subcmd__help__subcmd__jobs__subcmd__abort_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help jobs abort commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__jobs__subcmd__list_commands] )) ||
_bulkops__subcmd__help__subcmd__jobs__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help jobs list commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__jobs__subcmd__pause_commands] )) ||
_bulkops__subcmd__help__subcmd__jobs__subcmd__pause_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help jobs pause commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__jobs__subcmd__resume_commands] )) ||
_bulkops__subcmd__help__subcmd__jobs__subcmd__resume_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help jobs resume commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__jobs__subcmd__retune_commands] )) ||
_bulkops__subcmd__help__subcmd__jobs__subcmd__retune_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help jobs retune commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__jobs__subcmd__show_commands] )) ||
_bulkops__subcmd__help__subcmd__jobs__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help jobs show commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__jobs__subcmd__undo_commands] )) ||
_bulkops__subcmd__help__subcmd__jobs__subcmd__undo_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help jobs undo commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__jobs__subcmd__watch_commands] )) ||
_bulkops__subcmd__help__subcmd__jobs__subcmd__watch_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help jobs watch commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__manpage_commands] )) ||
_bulkops__subcmd__help__subcmd__manpage_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help manpage commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__report_commands] )) ||
_bulkops__subcmd__help__subcmd__report_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help report commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__runs_commands] )) ||
_bulkops__subcmd__help__subcmd__runs_commands() {
    local commands; commands=(
'cancel:Cancel every matching run (default statuses\: QUEUED, RUNNING)' \
'replay:Replay every matching run once (default statuses\: FAILED, CANCELLED)' \
    )
    _describe -t commands 'bulkops help runs commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__runs__subcmd__cancel_commands] )) ||
_bulkops__subcmd__help__subcmd__runs__subcmd__cancel_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help runs cancel commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__runs__subcmd__replay_commands] )) ||
_bulkops__subcmd__help__subcmd__runs__subcmd__replay_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help runs replay commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__scheduled_commands] )) ||
_bulkops__subcmd__help__subcmd__scheduled_commands() {
    local commands; commands=(
'delete:Delete every matching API-created scheduled run (definitions are kept for \`jobs undo\`)' \
'reschedule:Move every matching API-created scheduled run to a new trigger time' \
    )
    _describe -t commands 'bulkops help scheduled commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__scheduled__subcmd__delete_commands] )) ||
_bulkops__subcmd__help__subcmd__scheduled__subcmd__delete_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help scheduled delete commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__scheduled__subcmd__reschedule_commands] )) ||
_bulkops__subcmd__help__subcmd__scheduled__subcmd__reschedule_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help scheduled reschedule commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__help__subcmd__serve_commands] )) ||
_bulkops__subcmd__help__subcmd__serve_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops help serve commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs_commands] )) ||
_bulkops__subcmd__jobs_commands() {
    local commands; commands=(
'list:List jobs with their state and counts' \
'show:Show one job\: its state, selection, target and counts' \
'watch:Follow a job another process runs\: its state, counts, rate and time left' \
'resume:Resume an unfinished job' \
'pause:Pause a running job\: the process running it finishes its in-flight chunks and exits 3; \`jobs resume\` (or the same command) continues it' \
'retune:Change a job'\''s requests per second or chunks in flight, in the process running it (within a second) and on every later resume' \
'abort:Give up on an unfinished job\: nothing more is sent for it (a process running it stops after its in-flight chunks), and the same command then starts a new job' \
'undo:Undo a finished job\: re-create deleted scheduled runs, restore previous trigger times, or (for a cancel) write the ids it cancelled and print the matching replay' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops jobs commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__abort_commands] )) ||
_bulkops__subcmd__jobs__subcmd__abort_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs abort commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__help_commands] )) ||
_bulkops__subcmd__jobs__subcmd__help_commands() {
    local commands; commands=(
'list:List jobs with their state and counts' \
'show:Show one job\: its state, selection, target and counts' \
'watch:Follow a job another process runs\: its state, counts, rate and time left' \
'resume:Resume an unfinished job' \
'pause:Pause a running job\: the process running it finishes its in-flight chunks and exits 3; \`jobs resume\` (or the same command) continues it' \
'retune:Change a job'\''s requests per second or chunks in flight, in the process running it (within a second) and on every later resume' \
'abort:Give up on an unfinished job\: nothing more is sent for it (a process running it stops after its in-flight chunks), and the same command then starts a new job' \
'undo:Undo a finished job\: re-create deleted scheduled runs, restore previous trigger times, or (for a cancel) write the ids it cancelled and print the matching replay' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops jobs help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__help__subcmd__abort_commands] )) ||
_bulkops__subcmd__jobs__subcmd__help__subcmd__abort_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs help abort commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__help__subcmd__help_commands] )) ||
_bulkops__subcmd__jobs__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs help help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__help__subcmd__list_commands] )) ||
_bulkops__subcmd__jobs__subcmd__help__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs help list commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__help__subcmd__pause_commands] )) ||
_bulkops__subcmd__jobs__subcmd__help__subcmd__pause_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs help pause commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__help__subcmd__resume_commands] )) ||
_bulkops__subcmd__jobs__subcmd__help__subcmd__resume_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs help resume commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__help__subcmd__retune_commands] )) ||
_bulkops__subcmd__jobs__subcmd__help__subcmd__retune_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs help retune commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__help__subcmd__show_commands] )) ||
_bulkops__subcmd__jobs__subcmd__help__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs help show commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__help__subcmd__undo_commands] )) ||
_bulkops__subcmd__jobs__subcmd__help__subcmd__undo_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs help undo commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__help__subcmd__watch_commands] )) ||
_bulkops__subcmd__jobs__subcmd__help__subcmd__watch_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs help watch commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__list_commands] )) ||
_bulkops__subcmd__jobs__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs list commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__pause_commands] )) ||
_bulkops__subcmd__jobs__subcmd__pause_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs pause commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__resume_commands] )) ||
_bulkops__subcmd__jobs__subcmd__resume_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs resume commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__retune_commands] )) ||
_bulkops__subcmd__jobs__subcmd__retune_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs retune commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__show_commands] )) ||
_bulkops__subcmd__jobs__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs show commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__undo_commands] )) ||
_bulkops__subcmd__jobs__subcmd__undo_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs undo commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__jobs__subcmd__watch_commands] )) ||
_bulkops__subcmd__jobs__subcmd__watch_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops jobs watch commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__manpage_commands] )) ||
_bulkops__subcmd__manpage_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops manpage commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__report_commands] )) ||
_bulkops__subcmd__report_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops report commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__runs_commands] )) ||
_bulkops__subcmd__runs_commands() {
    local commands; commands=(
'cancel:Cancel every matching run (default statuses\: QUEUED, RUNNING)' \
'replay:Replay every matching run once (default statuses\: FAILED, CANCELLED)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops runs commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__runs__subcmd__cancel_commands] )) ||
_bulkops__subcmd__runs__subcmd__cancel_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops runs cancel commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__runs__subcmd__help_commands] )) ||
_bulkops__subcmd__runs__subcmd__help_commands() {
    local commands; commands=(
'cancel:Cancel every matching run (default statuses\: QUEUED, RUNNING)' \
'replay:Replay every matching run once (default statuses\: FAILED, CANCELLED)' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops runs help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__runs__subcmd__help__subcmd__cancel_commands] )) ||
_bulkops__subcmd__runs__subcmd__help__subcmd__cancel_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops runs help cancel commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__runs__subcmd__help__subcmd__help_commands] )) ||
_bulkops__subcmd__runs__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops runs help help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__runs__subcmd__help__subcmd__replay_commands] )) ||
_bulkops__subcmd__runs__subcmd__help__subcmd__replay_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops runs help replay commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__runs__subcmd__replay_commands] )) ||
_bulkops__subcmd__runs__subcmd__replay_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops runs replay commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__scheduled_commands] )) ||
_bulkops__subcmd__scheduled_commands() {
    local commands; commands=(
'delete:Delete every matching API-created scheduled run (definitions are kept for \`jobs undo\`)' \
'reschedule:Move every matching API-created scheduled run to a new trigger time' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops scheduled commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__scheduled__subcmd__delete_commands] )) ||
_bulkops__subcmd__scheduled__subcmd__delete_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops scheduled delete commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__scheduled__subcmd__help_commands] )) ||
_bulkops__subcmd__scheduled__subcmd__help_commands() {
    local commands; commands=(
'delete:Delete every matching API-created scheduled run (definitions are kept for \`jobs undo\`)' \
'reschedule:Move every matching API-created scheduled run to a new trigger time' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'bulkops scheduled help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__scheduled__subcmd__help__subcmd__delete_commands] )) ||
_bulkops__subcmd__scheduled__subcmd__help__subcmd__delete_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops scheduled help delete commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__scheduled__subcmd__help__subcmd__help_commands] )) ||
_bulkops__subcmd__scheduled__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops scheduled help help commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__scheduled__subcmd__help__subcmd__reschedule_commands] )) ||
_bulkops__subcmd__scheduled__subcmd__help__subcmd__reschedule_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops scheduled help reschedule commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__scheduled__subcmd__reschedule_commands] )) ||
_bulkops__subcmd__scheduled__subcmd__reschedule_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops scheduled reschedule commands' commands "$@"
}
(( $+functions[_bulkops__subcmd__serve_commands] )) ||
_bulkops__subcmd__serve_commands() {
    local commands; commands=()
    _describe -t commands 'bulkops serve commands' commands "$@"
}

if [ "$funcstack[1]" = "_bulkops" ]; then
    _bulkops "$@"
else
    compdef _bulkops bulkops
fi
