# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_bulkops_global_optspecs
    string join \n state= reports-dir= config= log-format= o/output= h/help V/version
end

function __fish_bulkops_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_bulkops_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_bulkops_using_subcommand
    set -l cmd (__fish_bulkops_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c bulkops -n "__fish_bulkops_needs_command" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_needs_command" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_needs_command" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_needs_command" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_needs_command" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_needs_command" -s V -l version -d 'Print version'
complete -c bulkops -n "__fish_bulkops_needs_command" -f -a "runs" -d 'Workflow runs'
complete -c bulkops -n "__fish_bulkops_needs_command" -f -a "scheduled" -d 'Scheduled runs'
complete -c bulkops -n "__fish_bulkops_needs_command" -f -a "crons" -d 'Cron triggers'
complete -c bulkops -n "__fish_bulkops_needs_command" -f -a "handinger" -d 'Handinger worker schedules (HANDINGER_API_KEY, HANDINGER_BASE_URL)'
complete -c bulkops -n "__fish_bulkops_needs_command" -f -a "jobs" -d 'Jobs in the state store'
complete -c bulkops -n "__fish_bulkops_needs_command" -f -a "report" -d 'Per-item report of a job: CSV, or JSON lines (one object per item)'
complete -c bulkops -n "__fish_bulkops_needs_command" -f -a "completions" -d 'Print the shell completion script, e.g. `bulkops completions bash > /etc/bash_completion.d/bulkops`'
complete -c bulkops -n "__fish_bulkops_needs_command" -f -a "manpage" -d 'Print the manual page (roff), e.g. `bulkops manpage | man -l -`'
complete -c bulkops -n "__fish_bulkops_needs_command" -f -a "config" -d 'The effective configuration'
complete -c bulkops -n "__fish_bulkops_needs_command" -f -a "serve" -d 'Serve the HTTP API: submit, follow, steer and report jobs, which run in this process'
complete -c bulkops -n "__fish_bulkops_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and not __fish_seen_subcommand_from cancel replay help" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and not __fish_seen_subcommand_from cancel replay help" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and not __fish_seen_subcommand_from cancel replay help" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and not __fish_seen_subcommand_from cancel replay help" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and not __fish_seen_subcommand_from cancel replay help" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and not __fish_seen_subcommand_from cancel replay help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and not __fish_seen_subcommand_from cancel replay help" -f -a "cancel" -d 'Cancel every matching run (default statuses: QUEUED, RUNNING)'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and not __fish_seen_subcommand_from cancel replay help" -f -a "replay" -d 'Replay every matching run once (default statuses: FAILED, CANCELLED)'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and not __fish_seen_subcommand_from cancel replay help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -s s -l since -d 'Created after this time: a duration ago (24h, 7d) or RFC 3339 (required for runs)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l until -d 'Created up to this time [default: now, frozen when the job is created]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -s w -l workflow -d 'Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE\'s prefix gets it' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l metadata -d 'Additional metadata key=value (repeatable; all must match)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l ids-file -d 'Act on exactly these ids: one per line or a JSON array; `-` reads standard input' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l status -d 'Run status (repeatable or comma-separated): QUEUED, RUNNING, COMPLETED, CANCELLED, FAILED' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l concurrency -d 'Most chunks in flight at once (1 to 64) [env: BULKOPS_CONCURRENCY] [default: 4]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l chunk-size -d 'Items per request (1 to 1000) [env: BULKOPS_CHUNK_SIZE] [default: 500; replay 100; scheduled at most 500]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l rate -d 'Requests per second, for the whole process (0.01 to 1000000) [env: BULKOPS_RATE] [default: 50]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l verify-timeout -d 'How long to wait for the server to confirm outcomes [env: BULKOPS_VERIFY_TIMEOUT] [default: 120s]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l request-timeout -d 'Per-request timeout [env: BULKOPS_REQUEST_TIMEOUT] [default: 30s]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l reason -d 'Why this job runs (kept with the job)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l job -d 'A stable job name (for cron): re-running resumes it while unfinished' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l metrics-addr -d 'Serve GET /metrics (Prometheus text format) on this IP:PORT while the job (or the service) runs, e.g. 127.0.0.1:9090 [env: BULKOPS_METRICS_ADDR]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l no-verify -d 'Do not confirm outcomes on the server after execution'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -l dry-run -d 'Count the matching items and show a few, without changing anything'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -s y -l yes -d 'Do not ask for confirmation'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from cancel" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -s s -l since -d 'Created after this time: a duration ago (24h, 7d) or RFC 3339 (required for runs)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l until -d 'Created up to this time [default: now, frozen when the job is created]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -s w -l workflow -d 'Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE\'s prefix gets it' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l metadata -d 'Additional metadata key=value (repeatable; all must match)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l ids-file -d 'Act on exactly these ids: one per line or a JSON array; `-` reads standard input' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l status -d 'Run status (repeatable or comma-separated): QUEUED, RUNNING, COMPLETED, CANCELLED, FAILED' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l chunk-size -d 'Items per request (1 to 1000) [env: BULKOPS_CHUNK_SIZE] [default: 500; replay 100; scheduled at most 500]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l rate -d 'Requests per second, for the whole process (0.01 to 1000000) [env: BULKOPS_RATE] [default: 50]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l verify-timeout -d 'How long to wait for the server to confirm outcomes [env: BULKOPS_VERIFY_TIMEOUT] [default: 120s]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l request-timeout -d 'Per-request timeout [env: BULKOPS_REQUEST_TIMEOUT] [default: 30s]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l reason -d 'Why this job runs (kept with the job)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l job -d 'A stable job name (for cron): re-running resumes it while unfinished' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l metrics-addr -d 'Serve GET /metrics (Prometheus text format) on this IP:PORT while the job (or the service) runs, e.g. 127.0.0.1:9090 [env: BULKOPS_METRICS_ADDR]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l no-verify -d 'Do not confirm outcomes on the server after execution'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -l dry-run -d 'Count the matching items and show a few, without changing anything'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -s y -l yes -d 'Do not ask for confirmation'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from replay" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from help" -f -a "cancel" -d 'Cancel every matching run (default statuses: QUEUED, RUNNING)'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from help" -f -a "replay" -d 'Replay every matching run once (default statuses: FAILED, CANCELLED)'
complete -c bulkops -n "__fish_bulkops_using_subcommand runs; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and not __fish_seen_subcommand_from delete reschedule help" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and not __fish_seen_subcommand_from delete reschedule help" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and not __fish_seen_subcommand_from delete reschedule help" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and not __fish_seen_subcommand_from delete reschedule help" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and not __fish_seen_subcommand_from delete reschedule help" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and not __fish_seen_subcommand_from delete reschedule help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and not __fish_seen_subcommand_from delete reschedule help" -f -a "delete" -d 'Delete every matching API-created scheduled run (definitions are kept for `jobs undo`)'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and not __fish_seen_subcommand_from delete reschedule help" -f -a "reschedule" -d 'Move every matching API-created scheduled run to a new trigger time'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and not __fish_seen_subcommand_from delete reschedule help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -s s -l since -d 'Created after this time: a duration ago (24h, 7d) or RFC 3339 (required for runs)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l until -d 'Created up to this time [default: now, frozen when the job is created]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -s w -l workflow -d 'Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE\'s prefix gets it' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l metadata -d 'Additional metadata key=value (repeatable; all must match)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l ids-file -d 'Act on exactly these ids: one per line or a JSON array; `-` reads standard input' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l trigger-after -d 'Rows due at or after this time: RFC 3339, or +2h (from now) / -1d (ago)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l trigger-before -d 'Rows due before this time: RFC 3339, or +2h (from now) / -1d (ago)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l concurrency -d 'Most chunks in flight at once (1 to 64) [env: BULKOPS_CONCURRENCY] [default: 4]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l chunk-size -d 'Items per request (1 to 1000) [env: BULKOPS_CHUNK_SIZE] [default: 500; replay 100; scheduled at most 500]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l rate -d 'Requests per second, for the whole process (0.01 to 1000000) [env: BULKOPS_RATE] [default: 50]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l verify-timeout -d 'How long to wait for the server to confirm outcomes [env: BULKOPS_VERIFY_TIMEOUT] [default: 120s]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l request-timeout -d 'Per-request timeout [env: BULKOPS_REQUEST_TIMEOUT] [default: 30s]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l reason -d 'Why this job runs (kept with the job)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l job -d 'A stable job name (for cron): re-running resumes it while unfinished' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l metrics-addr -d 'Serve GET /metrics (Prometheus text format) on this IP:PORT while the job (or the service) runs, e.g. 127.0.0.1:9090 [env: BULKOPS_METRICS_ADDR]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l no-verify -d 'Do not confirm outcomes on the server after execution'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -l dry-run -d 'Count the matching items and show a few, without changing anything'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Do not ask for confirmation'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l to -d 'New trigger time for every row (RFC 3339)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l shift -d 'Move every row by this much (1h, -30m, 2d)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -s s -l since -d 'Created after this time: a duration ago (24h, 7d) or RFC 3339 (required for runs)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l until -d 'Created up to this time [default: now, frozen when the job is created]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -s w -l workflow -d 'Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE\'s prefix gets it' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l metadata -d 'Additional metadata key=value (repeatable; all must match)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l ids-file -d 'Act on exactly these ids: one per line or a JSON array; `-` reads standard input' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l trigger-after -d 'Rows due at or after this time: RFC 3339, or +2h (from now) / -1d (ago)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l trigger-before -d 'Rows due before this time: RFC 3339, or +2h (from now) / -1d (ago)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l concurrency -d 'Most chunks in flight at once (1 to 64) [env: BULKOPS_CONCURRENCY] [default: 4]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l chunk-size -d 'Items per request (1 to 1000) [env: BULKOPS_CHUNK_SIZE] [default: 500; replay 100; scheduled at most 500]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l rate -d 'Requests per second, for the whole process (0.01 to 1000000) [env: BULKOPS_RATE] [default: 50]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l verify-timeout -d 'How long to wait for the server to confirm outcomes [env: BULKOPS_VERIFY_TIMEOUT] [default: 120s]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l request-timeout -d 'Per-request timeout [env: BULKOPS_REQUEST_TIMEOUT] [default: 30s]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l reason -d 'Why this job runs (kept with the job)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l job -d 'A stable job name (for cron): re-running resumes it while unfinished' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l metrics-addr -d 'Serve GET /metrics (Prometheus text format) on this IP:PORT while the job (or the service) runs, e.g. 127.0.0.1:9090 [env: BULKOPS_METRICS_ADDR]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l allow-past -d 'Accept targets in the past (such rows fire at once)'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l again -d 'Run a `--shift` again although the same job already finished (it moves the rows again)'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l no-verify -d 'Do not confirm outcomes on the server after execution'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -l dry-run -d 'Count the matching items and show a few, without changing anything'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -s y -l yes -d 'Do not ask for confirmation'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from reschedule" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete every matching API-created scheduled run (definitions are kept for `jobs undo`)'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from help" -f -a "reschedule" -d 'Move every matching API-created scheduled run to a new trigger time'
complete -c bulkops -n "__fish_bulkops_using_subcommand scheduled; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and not __fish_seen_subcommand_from delete help" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and not __fish_seen_subcommand_from delete help" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and not __fish_seen_subcommand_from delete help" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and not __fish_seen_subcommand_from delete help" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and not __fish_seen_subcommand_from delete help" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and not __fish_seen_subcommand_from delete help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and not __fish_seen_subcommand_from delete help" -f -a "delete" -d 'Delete every matching cron trigger (one request each)'
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and not __fish_seen_subcommand_from delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -s s -l since -d 'Created after this time: a duration ago (24h, 7d) or RFC 3339 (required for runs)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l until -d 'Created up to this time [default: now, frozen when the job is created]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -s w -l workflow -d 'Workflow name or id (repeatable); a name without HATCHET_CLIENT_NAMESPACE\'s prefix gets it' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l metadata -d 'Additional metadata key=value (repeatable; all must match)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l ids-file -d 'Act on exactly these ids: one per line or a JSON array; `-` reads standard input' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l cron-name -d 'Cron name (repeatable)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l concurrency -d 'Most chunks in flight at once (1 to 64) [env: BULKOPS_CONCURRENCY] [default: 4]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l rate -d 'Requests per second, for the whole process (0.01 to 1000000) [env: BULKOPS_RATE] [default: 50]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l verify-timeout -d 'How long to wait for the server to confirm outcomes [env: BULKOPS_VERIFY_TIMEOUT] [default: 120s]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l request-timeout -d 'Per-request timeout [env: BULKOPS_REQUEST_TIMEOUT] [default: 30s]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l reason -d 'Why this job runs (kept with the job)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l job -d 'A stable job name (for cron): re-running resumes it while unfinished' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l metrics-addr -d 'Serve GET /metrics (Prometheus text format) on this IP:PORT while the job (or the service) runs, e.g. 127.0.0.1:9090 [env: BULKOPS_METRICS_ADDR]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l include-code-defined -d 'Also delete code-defined crons (they come back on the next deploy)'
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l no-verify -d 'Do not confirm outcomes on the server after execution'
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -l dry-run -d 'Count the matching items and show a few, without changing anything'
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Do not ask for confirmation'
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete every matching cron trigger (one request each)'
complete -c bulkops -n "__fish_bulkops_using_subcommand crons; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and not __fish_seen_subcommand_from schedules help" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and not __fish_seen_subcommand_from schedules help" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and not __fish_seen_subcommand_from schedules help" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and not __fish_seen_subcommand_from schedules help" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and not __fish_seen_subcommand_from schedules help" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and not __fish_seen_subcommand_from schedules help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and not __fish_seen_subcommand_from schedules help" -f -a "schedules" -d 'Worker schedules (one-off, delayed, cron, interval)'
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and not __fish_seen_subcommand_from schedules help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and __fish_seen_subcommand_from schedules" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and __fish_seen_subcommand_from schedules" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and __fish_seen_subcommand_from schedules" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and __fish_seen_subcommand_from schedules" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and __fish_seen_subcommand_from schedules" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and __fish_seen_subcommand_from schedules" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and __fish_seen_subcommand_from schedules" -f -a "list" -d 'Print every schedule the selection holds, changing nothing (the dry run of the others)'
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and __fish_seen_subcommand_from schedules" -f -a "cancel" -d 'Cancel every selected schedule, one request each'
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and __fish_seen_subcommand_from schedules" -f -a "reschedule" -d 'Replace every selected schedule: create the new one, then cancel the original (`jobs undo` puts the originals back)'
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and __fish_seen_subcommand_from schedules" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and __fish_seen_subcommand_from help" -f -a "schedules" -d 'Worker schedules (one-off, delayed, cron, interval)'
complete -c bulkops -n "__fish_bulkops_using_subcommand handinger; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -f -a "list" -d 'List jobs with their state and counts'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -f -a "show" -d 'Show one job: its state, selection, target and counts'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -f -a "watch" -d 'Follow a job another process runs: its state, counts, rate and time left'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -f -a "resume" -d 'Resume an unfinished job'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -f -a "pause" -d 'Pause a running job: the process running it finishes its in-flight chunks and exits 3; `jobs resume` (or the same command) continues it'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -f -a "retune" -d 'Change a job\'s requests per second or chunks in flight, in the process running it (within a second) and on every later resume'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -f -a "abort" -d 'Give up on an unfinished job: nothing more is sent for it (a process running it stops after its in-flight chunks), and the same command then starts a new job'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -f -a "undo" -d 'Undo a finished job: re-create deleted scheduled runs, restore previous trigger times, or (for a cancel) write the ids it cancelled and print the matching replay'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and not __fish_seen_subcommand_from list show watch resume pause retune abort undo help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from list" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from list" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from list" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from list" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from list" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from show" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from show" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from show" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from show" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from show" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from show" -s w -l watch -d 'Follow the job until it ends, as `bulkops jobs watch` does'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from watch" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from watch" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from watch" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from watch" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from watch" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from resume" -l concurrency -d 'Most chunks in flight at once, for this run (1 to 64; not for a replay, which sends one request at a time) [default: the job\'s own, as it was created]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from resume" -l rate -d 'Requests per second, for the whole process (0.01 to 1000000) [env: BULKOPS_RATE] [default: 50]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from resume" -l verify-timeout -d 'How long to wait for the server to confirm outcomes [env: BULKOPS_VERIFY_TIMEOUT] [default: 120s]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from resume" -l request-timeout -d 'Per-request timeout [env: BULKOPS_REQUEST_TIMEOUT] [default: 30s]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from resume" -l metrics-addr -d 'Serve GET /metrics (Prometheus text format) on this IP:PORT while the job (or the service) runs, e.g. 127.0.0.1:9090 [env: BULKOPS_METRICS_ADDR]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from resume" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from resume" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from resume" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from resume" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from resume" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from resume" -l no-verify -d 'Do not confirm outcomes on the server after execution'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from resume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from pause" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from pause" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from pause" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from pause" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from pause" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from pause" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from retune" -l rate -d 'New requests per second, for the whole process (0.01 to 1000000)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from retune" -l concurrency -d 'New most chunks in flight (1 to 64; not for a job that sends one request at a time: replay, Handinger reschedule)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from retune" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from retune" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from retune" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from retune" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from retune" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from retune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from abort" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from abort" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from abort" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from abort" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from abort" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from abort" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -l concurrency -d 'Most chunks in flight at once (1 to 64) [env: BULKOPS_CONCURRENCY] [default: 4]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -l rate -d 'Requests per second, for the whole process (0.01 to 1000000) [env: BULKOPS_RATE] [default: 50]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -l verify-timeout -d 'How long to wait for the server to confirm outcomes [env: BULKOPS_VERIFY_TIMEOUT] [default: 120s]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -l request-timeout -d 'Per-request timeout [env: BULKOPS_REQUEST_TIMEOUT] [default: 30s]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -l reason -d 'Why this job runs (kept with the job)' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -l metrics-addr -d 'Serve GET /metrics (Prometheus text format) on this IP:PORT while the job (or the service) runs, e.g. 127.0.0.1:9090 [env: BULKOPS_METRICS_ADDR]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -l no-verify -d 'Do not confirm outcomes on the server after execution'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -l dry-run -d 'Count the matching items and show a few, without changing anything'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -s y -l yes -d 'Do not ask for confirmation'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from undo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from help" -f -a "list" -d 'List jobs with their state and counts'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one job: its state, selection, target and counts'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from help" -f -a "watch" -d 'Follow a job another process runs: its state, counts, rate and time left'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from help" -f -a "resume" -d 'Resume an unfinished job'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from help" -f -a "pause" -d 'Pause a running job: the process running it finishes its in-flight chunks and exits 3; `jobs resume` (or the same command) continues it'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from help" -f -a "retune" -d 'Change a job\'s requests per second or chunks in flight, in the process running it (within a second) and on every later resume'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from help" -f -a "abort" -d 'Give up on an unfinished job: nothing more is sent for it (a process running it stops after its in-flight chunks), and the same command then starts a new job'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from help" -f -a "undo" -d 'Undo a finished job: re-create deleted scheduled runs, restore previous trigger times, or (for a cancel) write the ids it cancelled and print the matching replay'
complete -c bulkops -n "__fish_bulkops_using_subcommand jobs; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand report" -l format -d 'csv (a header line, then a row per item) or json (JSON lines: an object per item); it wins over -o [default: json with -o json, else csv]' -r -f -a "csv\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand report" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand report" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand report" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand report" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand report" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand report" -l failed -d 'Only failed, skipped and unconfirmed items'
complete -c bulkops -n "__fish_bulkops_using_subcommand report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand completions" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand completions" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand completions" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand completions" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand completions" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand manpage" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand manpage" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand manpage" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand manpage" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand manpage" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand manpage" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and not __fish_seen_subcommand_from show help" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and not __fish_seen_subcommand_from show help" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and not __fish_seen_subcommand_from show help" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and not __fish_seen_subcommand_from show help" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and not __fish_seen_subcommand_from show help" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'Print every setting with its source (default, file, env, flag) and the connection variables, secrets masked'
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and __fish_seen_subcommand_from show" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and __fish_seen_subcommand_from show" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and __fish_seen_subcommand_from show" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and __fish_seen_subcommand_from show" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print every setting with its source (default, file, env, flag) and the connection variables, secrets masked'
complete -c bulkops -n "__fish_bulkops_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand serve" -l listen -d 'Address and port to listen on (port 0: any free one, printed on stdout); an address other hosts reach needs an API token' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand serve" -l jobs-dir -d 'Scheduled jobs: every *.toml file of DIR, a cron expression (UTC) and a job as POST /jobs takes it (see config/jobs/); each firing is an ordinary job named after its file, and a firing while the previous run still goes is skipped' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand serve" -l metrics-addr -d 'Serve GET /metrics (Prometheus text format) on this IP:PORT while the job (or the service) runs, e.g. 127.0.0.1:9090 [env: BULKOPS_METRICS_ADDR]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand serve" -l state -d 'Checkpoint store: a SQLite file, or a PostgreSQL database shared by hosts (postgres://user:password@host:5432/db) [env: BULKOPS_STATE] [default: $XDG_STATE_HOME/bulkops/state.db, else ~/.local/state/bulkops/state.db]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand serve" -l reports-dir -d 'Where finished jobs\' reports are written [env: BULKOPS_REPORTS_DIR] [default: <state stem>-reports beside a state file, ./bulkops-reports for PostgreSQL]' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand serve" -l config -d 'Extra settings file (TOML), between the defaults and BULKOPS_* variables' -r -F
complete -c bulkops -n "__fish_bulkops_using_subcommand serve" -l log-format -d 'Log format: text, json or auto (text on a terminal) [env: BULKOPS_LOG_FORMAT] [default: auto]' -r
complete -c bulkops -n "__fish_bulkops_using_subcommand serve" -s o -l output -d 'What stdout carries: text, or json (JSON objects; listings as JSON lines)' -r -f -a "text\t''
json\t''"
complete -c bulkops -n "__fish_bulkops_using_subcommand serve" -l check-config -d 'Check the flags, the configuration, every scheduled job and the addresses (bound and let go) as serve does before it serves, then exit (0, or 2 naming the fix) without serving or running anything'
complete -c bulkops -n "__fish_bulkops_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and not __fish_seen_subcommand_from runs scheduled crons handinger jobs report completions manpage config serve help" -f -a "runs" -d 'Workflow runs'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and not __fish_seen_subcommand_from runs scheduled crons handinger jobs report completions manpage config serve help" -f -a "scheduled" -d 'Scheduled runs'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and not __fish_seen_subcommand_from runs scheduled crons handinger jobs report completions manpage config serve help" -f -a "crons" -d 'Cron triggers'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and not __fish_seen_subcommand_from runs scheduled crons handinger jobs report completions manpage config serve help" -f -a "handinger" -d 'Handinger worker schedules (HANDINGER_API_KEY, HANDINGER_BASE_URL)'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and not __fish_seen_subcommand_from runs scheduled crons handinger jobs report completions manpage config serve help" -f -a "jobs" -d 'Jobs in the state store'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and not __fish_seen_subcommand_from runs scheduled crons handinger jobs report completions manpage config serve help" -f -a "report" -d 'Per-item report of a job: CSV, or JSON lines (one object per item)'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and not __fish_seen_subcommand_from runs scheduled crons handinger jobs report completions manpage config serve help" -f -a "completions" -d 'Print the shell completion script, e.g. `bulkops completions bash > /etc/bash_completion.d/bulkops`'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and not __fish_seen_subcommand_from runs scheduled crons handinger jobs report completions manpage config serve help" -f -a "manpage" -d 'Print the manual page (roff), e.g. `bulkops manpage | man -l -`'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and not __fish_seen_subcommand_from runs scheduled crons handinger jobs report completions manpage config serve help" -f -a "config" -d 'The effective configuration'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and not __fish_seen_subcommand_from runs scheduled crons handinger jobs report completions manpage config serve help" -f -a "serve" -d 'Serve the HTTP API: submit, follow, steer and report jobs, which run in this process'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and not __fish_seen_subcommand_from runs scheduled crons handinger jobs report completions manpage config serve help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from runs" -f -a "cancel" -d 'Cancel every matching run (default statuses: QUEUED, RUNNING)'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from runs" -f -a "replay" -d 'Replay every matching run once (default statuses: FAILED, CANCELLED)'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from scheduled" -f -a "delete" -d 'Delete every matching API-created scheduled run (definitions are kept for `jobs undo`)'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from scheduled" -f -a "reschedule" -d 'Move every matching API-created scheduled run to a new trigger time'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from crons" -f -a "delete" -d 'Delete every matching cron trigger (one request each)'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from handinger" -f -a "schedules" -d 'Worker schedules (one-off, delayed, cron, interval)'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from jobs" -f -a "list" -d 'List jobs with their state and counts'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from jobs" -f -a "show" -d 'Show one job: its state, selection, target and counts'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from jobs" -f -a "watch" -d 'Follow a job another process runs: its state, counts, rate and time left'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from jobs" -f -a "resume" -d 'Resume an unfinished job'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from jobs" -f -a "pause" -d 'Pause a running job: the process running it finishes its in-flight chunks and exits 3; `jobs resume` (or the same command) continues it'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from jobs" -f -a "retune" -d 'Change a job\'s requests per second or chunks in flight, in the process running it (within a second) and on every later resume'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from jobs" -f -a "abort" -d 'Give up on an unfinished job: nothing more is sent for it (a process running it stops after its in-flight chunks), and the same command then starts a new job'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from jobs" -f -a "undo" -d 'Undo a finished job: re-create deleted scheduled runs, restore previous trigger times, or (for a cancel) write the ids it cancelled and print the matching replay'
complete -c bulkops -n "__fish_bulkops_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print every setting with its source (default, file, env, flag) and the connection variables, secrets masked'
