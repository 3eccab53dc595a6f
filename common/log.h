/* SPDX-License-Identifier: Apache-2.0 */
/* Logging for programs: one line per event on stderr, with a level filter. */
#pragma once

#include "macro.h"

enum sl_log_level { SL_LOG_ERR = 3, SL_LOG_WARNING = 4, SL_LOG_NOTICE = 5, SL_LOG_INFO = 6, SL_LOG_DEBUG = 7 };

/* Only messages at or below level are written (default SL_LOG_INFO). */
void sl_log_set_level(enum sl_log_level level);
enum sl_log_level sl_log_get_level(void);

/* Prefix every line with "ident: " (a program name; borrowed, must outlive logging). */
void sl_log_set_ident(const char *ident);

/*
 * Write one line. Library code uses SL_LOG_DEBUG only; programs log errors once where
 * they handle them. Control characters in the formatted text are escaped so that hostile
 * strings cannot forge log lines. Returns -abs(error) when error != 0, else 0, so that
 * `return sl_log_error(r, ...)` works.
 */
int sl_log_full(enum sl_log_level level, int error, const char *fmt, ...) _printf_(3, 4);

#define sl_log_debug(...) sl_log_full(SL_LOG_DEBUG, 0, __VA_ARGS__)
#define sl_log_info(...) sl_log_full(SL_LOG_INFO, 0, __VA_ARGS__)
#define sl_log_notice(...) sl_log_full(SL_LOG_NOTICE, 0, __VA_ARGS__)
#define sl_log_warning(...) sl_log_full(SL_LOG_WARNING, 0, __VA_ARGS__)
#define sl_log_error(error, ...) sl_log_full(SL_LOG_ERR, (error), __VA_ARGS__)
