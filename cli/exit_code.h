// hacctl's exit codes, the contract scripts rely on (documented in docs/cli.md and `hacctl help`).
#ifndef HAC_CLI_EXIT_CODE_H_
#define HAC_CLI_EXIT_CODE_H_

namespace hac::cli {

// What hacctl's process exit status means.
enum ExitCode : int {
  // The command did what was asked.
  kExitOk = 0,
  // The server (or the connection to it) returned an error.
  kExitServerError = 1,
  // The command line was wrong: unknown command or flag, bad value, unreadable file.
  kExitUsage = 2,
  // A watched or waited-for job ended in a state other than SUCCEEDED.
  kExitJobNotSucceeded = 3,
};

}  // namespace hac::cli

#endif  // HAC_CLI_EXIT_CODE_H_
