/* SPDX-License-Identifier: MIT */
/* The kernel's pseudo-keyword, which 6.1's tools/include lacks (-include). */
#define fallthrough __attribute__((__fallthrough__))
