// hacctl's billing commands against BillingService: usage, bill, prices, price set,
// invoice close, invoices, budget and budget set. Flags are parsed by billing_args.h and output
// formatted by billing_format.h; these handlers only make the call. See docs/cli.md.
#ifndef HAC_CLI_BILLING_COMMANDS_H_
#define HAC_CLI_BILLING_COMMANDS_H_

#include <vector>

#include "cli/command.h"

namespace hac::cli {

// The billing commands, in the order `hacctl help` lists them.
std::vector<Command> BillingCommands();

}  // namespace hac::cli

#endif  // HAC_CLI_BILLING_COMMANDS_H_
