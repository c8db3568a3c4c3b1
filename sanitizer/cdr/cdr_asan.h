/* cdr_asan: CDR_ASAN is 1 in AddressSanitizer builds (the test builds),
 * else 0; gcc says so with __SANITIZE_ADDRESS__, clang with
 * __has_feature.  Where the CDR code behaves differently under ASan
 * (no address-space limit, LeakSanitizer off in the sandbox, clone left
 * open by the lockdown, no leak check in the PDF converter) it asks this,
 * and says why there. */
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define CDR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CDR_ASAN 1
#endif
#endif
#ifndef CDR_ASAN
#define CDR_ASAN 0
#endif
