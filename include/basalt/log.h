#ifndef BASALT_LOG_H
#define BASALT_LOG_H

enum bs_log_level { BS_LOG_ERROR, BS_LOG_WARN, BS_LOG_INFO, BS_LOG_DEBUG };

extern enum bs_log_level bs_log_threshold;

void bs_log(enum bs_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) bs_log(BS_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) bs_log(BS_LOG_WARN, __VA_ARGS__)
#define log_info(...) bs_log(BS_LOG_INFO, __VA_ARGS__)
#define log_debug(...) bs_log(BS_LOG_DEBUG, __VA_ARGS__)

#endif
