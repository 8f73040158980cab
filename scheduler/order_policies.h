// The ordering policies. Keys compare lexicographically in the configured order; FIFO (submit
// time, then arrival order) breaks the remaining ties in every composition.
#ifndef HAC_SCHEDULER_ORDER_POLICIES_H_
#define HAC_SCHEDULER_ORDER_POLICIES_H_

#include "scheduler/fair_share_policy.h"
#include "scheduler/fifo_policy.h"
#include "scheduler/priority_policy.h"

#endif  // HAC_SCHEDULER_ORDER_POLICIES_H_
