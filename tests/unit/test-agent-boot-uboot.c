/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the uboot (libubootenv, file-backed environment) and grub (grubenv) backends. */
#include <fcntl.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* libuboot.h needs size_t from a header included before it. */
#include <libuboot.h>

#include "boot.h"
#include "error.h"
#include "fileio.h"
#include "test.h"

#define ENV_SIZE 0x4000

static char *tmp;
static char envbin[512], fwconfig[512], cmdline[512], grubenv[512];

static void set_cmdline(const char *text)
{
	ASSERT_OK(sl_write_file_atomic(cmdline, text, strlen(text), 0644));
}

/* CRC-32 (IEEE, reflected), what U-Boot puts in front of its environment. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

/* A single-copy environment of "name=value" strings (NUL-separated in vars). */
static void write_uboot_env(const char *vars, size_t len, bool good_crc)
{
	static uint8_t buf[ENV_SIZE];
	uint32_t crc;

	memset(buf, 0, sizeof(buf));
	memcpy(buf + 4, vars, len);
	crc = crc32_ieee(buf + 4, ENV_SIZE - 4) ^ (good_crc ? 0 : 1);
	for (int i = 0; i < 4; i++)
		buf[i] = (uint8_t)(crc >> (8 * i));
	ASSERT_OK(sl_write_file_atomic(envbin, buf, sizeof(buf), 0644));
}

/* Read one variable back with libubootenv itself (NULL when unset). */
static char *uboot_var(const char *name)
{
	struct uboot_ctx *ctx;
	char *v;

	ASSERT_OK(libuboot_initialize(&ctx, NULL));
	ASSERT_OK(libuboot_read_config(ctx, fwconfig));
	ASSERT_OK(libuboot_open(ctx));
	v = libuboot_get_env(ctx, name);
	libuboot_close(ctx);
	libuboot_exit(ctx);
	return v;
}

static void expect_var(const char *name, const char *value)
{
	char *v = uboot_var(name);

	ASSERT_TRUE(v != NULL);
	ASSERT_EQ_STR(v, value);
	free(v);
}

/* Play the bootloader: set one variable through the library. */
static void uboot_setvar(const char *name, const char *value)
{
	struct uboot_ctx *ctx;

	ASSERT_OK(libuboot_initialize(&ctx, NULL));
	ASSERT_OK(libuboot_read_config(ctx, fwconfig));
	ASSERT_OK(libuboot_open(ctx));
	ASSERT_OK(libuboot_set_env(ctx, name, value));
	ASSERT_OK(libuboot_env_store(ctx));
	libuboot_close(ctx);
	libuboot_exit(ctx);
}

static void uboot_config(struct agent_config *cfg)
{
	agent_config_init(cfg);
	cfg->bootloader = strdup("uboot");
	cfg->uboot_config = strdup(fwconfig);
}

TEST(uboot_open_refusals)
{
	struct agent_config cfg;
	struct agent_boot *b = NULL;

	agent_config_init(&cfg);
	cfg.bootloader = strdup("uboot");
	ASSERT_ERR(agent_boot_open(&cfg, &b), SL_E_CONFIG);
	ASSERT_TRUE(strstr(sl_error_message(SL_E_CONFIG), "uboot_config"));
	cfg.uboot_config = strdup("/nonexistent/fw_env.config");
	ASSERT_ERR(agent_boot_open(&cfg, &b), SL_E_CONFIG);
	ASSERT_TRUE(b == NULL);
	agent_config_clear(&cfg);
}

TEST(uboot_bad_crc)
{
	static const char vars[] = "boot_slot=a\0bootcount=0\0";
	struct agent_config cfg;
	struct agent_boot *b;
	struct agent_boot_env env;

	set_cmdline("console=ttyS0 sluice.slot=a\n");
	write_uboot_env(vars, sizeof(vars), false);
	uboot_config(&cfg);
	ASSERT_OK(agent_boot_open(&cfg, &b));
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	ASSERT_ERR(agent_boot_try_slot(b, AGENT_SLOT_B), TUF_E_STATE);
	agent_boot_free(b);
	agent_config_clear(&cfg);
}

TEST(uboot_trial_commit_fallback)
{
	static const char vars[] = "bootcmd=run sluice_boot\0bootlimit=3\0";
	struct agent_config cfg;
	struct agent_boot *b;
	struct agent_boot_env env;
	char *v;

	set_cmdline("console=ttyS0 root=/dev/mmcblk0p2 sluice.slot=a quiet\n");
	write_uboot_env(vars, sizeof(vars), true);
	uboot_config(&cfg);
	ASSERT_OK(agent_boot_open(&cfg, &b));

	/* A fresh environment: slot a, no trial; our variables are added on the first write. */
	ASSERT_OK(agent_boot_get(b, &env));
	ASSERT_EQ_INT(env.primary, AGENT_SLOT_A);
	ASSERT_EQ_INT(env.booted, AGENT_SLOT_A);
	ASSERT_TRUE(!env.trial);
	ASSERT_EQ_INT(env.bootcount, 0);
	ASSERT_EQ_INT(env.bootlimit, 3);
	v = uboot_var("boot_slot");
	ASSERT_TRUE(v == NULL);

	/* Try b once. */
	ASSERT_OK(agent_boot_try_slot(b, AGENT_SLOT_B));
	expect_var("boot_slot", "b");
	expect_var("upgrade_available", "1");
	expect_var("bootcount", "0");
	expect_var("bootlimit", "3");
	expect_var("bootcmd", "run sluice_boot");

	/* The bootloader counts and starts b. */
	uboot_setvar("bootcount", "1");
	set_cmdline("sluice.slot=b\n");
	ASSERT_OK(agent_boot_get(b, &env));
	ASSERT_EQ_INT(env.primary, AGENT_SLOT_B);
	ASSERT_EQ_INT(env.booted, AGENT_SLOT_B);
	ASSERT_TRUE(env.trial);
	ASSERT_EQ_INT(env.bootcount, 1);

	/* Commit b. */
	ASSERT_OK(agent_boot_mark_good(b, AGENT_SLOT_B));
	expect_var("boot_slot", "b");
	expect_var("upgrade_available", "0");
	expect_var("bootcount", "0");

	/* Give up on b: a again. */
	ASSERT_OK(agent_boot_try_slot(b, AGENT_SLOT_A));
	ASSERT_OK(agent_boot_mark_bad(b, AGENT_SLOT_A));
	expect_var("boot_slot", "b");
	expect_var("upgrade_available", "0");
	ASSERT_OK(agent_boot_mark_bad(b, AGENT_SLOT_B));
	expect_var("boot_slot", "a");
	ASSERT_OK(agent_boot_get(b, &env));
	ASSERT_EQ_INT(env.primary, AGENT_SLOT_A);
	ASSERT_TRUE(!env.trial);
	expect_var("bootcmd", "run sluice_boot");

	agent_boot_free(b);
	agent_config_clear(&cfg);
}

TEST(uboot_invalid_values)
{
	static const char slot[] = "boot_slot=c\0";
	static const char trial[] = "upgrade_available=2\0";
	static const char count[] = "bootcount=-1\0";
	static const char limit[] = "bootlimit=1001\0";
	struct agent_config cfg;
	struct agent_boot *b;
	struct agent_boot_env env;

	set_cmdline("sluice.slot=a");
	uboot_config(&cfg);
	ASSERT_OK(agent_boot_open(&cfg, &b));
	write_uboot_env(slot, sizeof(slot), true);
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_STATE), "boot_slot=c"));
	write_uboot_env(trial, sizeof(trial), true);
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	write_uboot_env(count, sizeof(count), true);
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	write_uboot_env(limit, sizeof(limit), true);
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	agent_boot_free(b);
	agent_config_clear(&cfg);
}

TEST(cmdline)
{
	static const char vars[] = "boot_slot=a\0";
	struct agent_config cfg;
	struct agent_boot *b;
	struct agent_boot_env env;

	write_uboot_env(vars, sizeof(vars), true);
	uboot_config(&cfg);
	ASSERT_OK(agent_boot_open(&cfg, &b));
	set_cmdline("console=ttyS0 root=/dev/sda2\n");
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_STATE), "sluice.slot="));
	set_cmdline("sluice.slot=c\n");
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	set_cmdline("sluice.slot=ab\n");
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	set_cmdline("xsluice.slot=b sluice.slot=\n");
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	set_cmdline("sluice.slot=a sluice.slot=b");
	ASSERT_OK(agent_boot_get(b, &env));
	ASSERT_EQ_INT(env.booted, AGENT_SLOT_B);
	agent_boot_free(b);
	agent_config_clear(&cfg);
}

/* ---- grub ---------------------------------------------------------------------------- */

#define GRUB_HEADER "# GRUB Environment Block\n"

static void write_grubenv(const char *vars, size_t size)
{
	char buf[2048];
	size_t n = strlen(GRUB_HEADER) + strlen(vars);

	ASSERT_TRUE(size <= sizeof(buf) && n <= size);
	memcpy(buf, GRUB_HEADER, strlen(GRUB_HEADER));
	memcpy(buf + strlen(GRUB_HEADER), vars, strlen(vars));
	memset(buf + n, '#', size - n);
	ASSERT_OK(sl_write_file_atomic(grubenv, buf, size, 0644));
}

static size_t read_grubenv(char *buf, size_t size)
{
	int fd = open(grubenv, O_RDONLY);
	ssize_t n;

	ASSERT_TRUE(fd >= 0);
	n = read(fd, buf, size);
	ASSERT_TRUE(n >= 0);
	close(fd);
	return (size_t)n;
}

static void grub_config(struct agent_config *cfg)
{
	agent_config_init(cfg);
	cfg->bootloader = strdup("grub");
	cfg->grubenv = strdup(grubenv);
}

TEST(grub_round_trip)
{
	static const char expect_vars[] = "saved_entry=linux\nnote=x\\\ny\nboot_slot=b\n"
					  "upgrade_available=1\nbootcount=0\nbootlimit=1\n";
	struct agent_config cfg;
	struct agent_boot *b;
	struct agent_boot_env env;
	char buf[2048];
	size_t n, hl = strlen(GRUB_HEADER);

	set_cmdline("sluice.slot=a\n");
	unlink(grubenv);
	agent_config_init(&cfg);
	cfg.bootloader = strdup("grub");
	ASSERT_ERR(agent_boot_open(&cfg, &b), SL_E_CONFIG);
	agent_config_clear(&cfg);
	grub_config(&cfg);
	ASSERT_OK(agent_boot_open(&cfg, &b));

	/* No block yet: a fresh device on slot a; the first write creates it. */
	ASSERT_OK(agent_boot_get(b, &env));
	ASSERT_EQ_INT(env.primary, AGENT_SLOT_A);
	ASSERT_TRUE(!env.trial);
	ASSERT_EQ_INT(env.bootlimit, AGENT_BOOTLIMIT_DEFAULT);
	ASSERT_OK(agent_boot_mark_good(b, AGENT_SLOT_A));
	n = read_grubenv(buf, sizeof(buf));
	ASSERT_EQ_INT(n, 1024);
	ASSERT_TRUE(!memcmp(buf, GRUB_HEADER "boot_slot=a\nupgrade_available=0\n", hl + 32));
	ASSERT_EQ_INT(buf[1023], '#');

	/* Variables that are not ours are kept, an escaped newline included. */
	write_grubenv("saved_entry=linux\nbootcount=0\nnote=x\\\ny\nbootlimit=1\n", 1024);
	ASSERT_OK(agent_boot_try_slot(b, AGENT_SLOT_B));
	n = read_grubenv(buf, sizeof(buf));
	ASSERT_EQ_INT(n, 1024);
	ASSERT_TRUE(!memcmp(buf, GRUB_HEADER, hl));
	ASSERT_TRUE(!memcmp(buf + hl, expect_vars, strlen(expect_vars)));
	for (size_t i = hl + strlen(expect_vars); i < 1024; i++)
		ASSERT_EQ_INT(buf[i], '#');

	/* The bootloader counted; the trial boot commits. */
	write_grubenv("boot_slot=b\nupgrade_available=1\nbootcount=1\nbootlimit=1\n", 1024);
	set_cmdline("sluice.slot=b\n");
	ASSERT_OK(agent_boot_get(b, &env));
	ASSERT_EQ_INT(env.primary, AGENT_SLOT_B);
	ASSERT_EQ_INT(env.booted, AGENT_SLOT_B);
	ASSERT_TRUE(env.trial);
	ASSERT_EQ_INT(env.bootcount, 1);
	ASSERT_OK(agent_boot_mark_good(b, AGENT_SLOT_B));
	ASSERT_OK(agent_boot_get(b, &env));
	ASSERT_EQ_INT(env.primary, AGENT_SLOT_B);
	ASSERT_TRUE(!env.trial);
	ASSERT_EQ_INT(env.bootcount, 0);
	ASSERT_OK(agent_boot_mark_bad(b, AGENT_SLOT_B));
	ASSERT_OK(agent_boot_get(b, &env));
	ASSERT_EQ_INT(env.primary, AGENT_SLOT_A);
	ASSERT_EQ_INT(read_grubenv(buf, sizeof(buf)), 1024);

	agent_boot_free(b);
	agent_config_clear(&cfg);
}

TEST(grub_corrupt)
{
	struct agent_config cfg;
	struct agent_boot *b;
	struct agent_boot_env env;
	char buf[1024], after[1024];

	set_cmdline("sluice.slot=a\n");
	grub_config(&cfg);
	ASSERT_OK(agent_boot_open(&cfg, &b));

	write_grubenv("boot_slot=a\n", 1023);
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	write_grubenv("boot_slot=a\n", 1025);
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	ASSERT_ERR(agent_boot_mark_good(b, AGENT_SLOT_A), TUF_E_STATE);
	ASSERT_EQ_INT(read_grubenv(buf, sizeof(buf)), 1024); /* first 1024 of 1025: untouched */

	write_grubenv("", 1024);
	read_grubenv(buf, sizeof(buf));
	buf[2] = 'g'; /* the header */
	ASSERT_OK(sl_write_file_atomic(grubenv, buf, sizeof(buf), 0644));
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_STATE), "header"));

	write_grubenv("boot_slot=a\n", 1024);
	read_grubenv(buf, sizeof(buf));
	buf[1000] = 'x'; /* the padding */
	ASSERT_OK(sl_write_file_atomic(grubenv, buf, sizeof(buf), 0644));
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_STATE), "padding"));

	write_grubenv("boot_slot=a\nno equals sign\n", 1024);
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	write_grubenv("=value\n", 1024);
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	write_grubenv("boot_slot=a", 1024); /* unterminated: the padding follows directly */
	read_grubenv(buf, sizeof(buf));
	memset(buf + strlen(GRUB_HEADER) + 11, 'z', 1024 - strlen(GRUB_HEADER) - 11);
	ASSERT_OK(sl_write_file_atomic(grubenv, buf, sizeof(buf), 0644));
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	write_grubenv("boot_slot=a\nupgrade_available=yes\n", 1024);
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_STATE), "upgrade_available=yes"));
	write_grubenv("bootcount=12345678901234567890123456789012345\n", 1024);
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);

	/* Too many other variables to fit ours: refused, the block untouched. */
	memset(buf, 'v', sizeof(buf));
	memcpy(buf, "big=", 4);
	buf[990 - strlen(GRUB_HEADER)] = '\n';
	buf[991 - strlen(GRUB_HEADER)] = '\0';
	write_grubenv(buf, 1024);
	read_grubenv(buf, sizeof(buf));
	ASSERT_ERR(agent_boot_try_slot(b, AGENT_SLOT_B), SL_E_TOO_LARGE);
	read_grubenv(after, sizeof(after));
	ASSERT_TRUE(!memcmp(buf, after, sizeof(buf)));

	agent_boot_free(b);
	agent_config_clear(&cfg);
}

TEST(grub_editenv)
{
	struct agent_config cfg;
	struct agent_boot *b;
	char cmd[1200];
	FILE *p;
	char line[256];
	bool seen_slot = false, seen_trial = false;

	if (access("/usr/bin/grub-editenv", X_OK) != 0)
		return; /* grub-editenv is not installed: the format tests above stand alone */
	set_cmdline("sluice.slot=a\n");
	unlink(grubenv);
	grub_config(&cfg);
	ASSERT_OK(agent_boot_open(&cfg, &b));
	ASSERT_OK(agent_boot_try_slot(b, AGENT_SLOT_B));
	snprintf(cmd, sizeof(cmd), "/usr/bin/grub-editenv '%s' list", grubenv);
	p = popen(cmd, "r");
	ASSERT_TRUE(p != NULL);
	while (fgets(line, sizeof(line), p)) {
		seen_slot |= !strcmp(line, "boot_slot=b\n");
		seen_trial |= !strcmp(line, "upgrade_available=1\n");
	}
	ASSERT_EQ_INT(pclose(p), 0);
	ASSERT_TRUE(seen_slot && seen_trial);
	agent_boot_free(b);
	agent_config_clear(&cfg);
}

int main(void)
{
	char tmpl[] = "/tmp/test-agent-boot-uboot-XXXXXX";
	char conf[700];
	int n;

	tmp = mkdtemp(tmpl);
	ASSERT_TRUE(tmp != NULL);
	snprintf(envbin, sizeof(envbin), "%s/uboot.env", tmp);
	snprintf(fwconfig, sizeof(fwconfig), "%s/fw_env.config", tmp);
	snprintf(cmdline, sizeof(cmdline), "%s/cmdline", tmp);
	snprintf(grubenv, sizeof(grubenv), "%s/grubenv", tmp);
	n = snprintf(conf, sizeof(conf), "# device offset size\n%s 0x0 0x%x\n", envbin, ENV_SIZE);
	ASSERT_OK(sl_write_file_atomic(fwconfig, conf, (size_t)n, 0644));
	setenv("SLUICE_KERNEL_CMDLINE", cmdline, 1);

	RUN(uboot_open_refusals);
	RUN(uboot_bad_crc);
	RUN(uboot_trial_commit_fallback);
	RUN(uboot_invalid_values);
	RUN(cmdline);
	RUN(grub_round_trip);
	RUN(grub_corrupt);
	RUN(grub_editenv);

	unlink(envbin);
	unlink(fwconfig);
	unlink(cmdline);
	unlink(grubenv);
	rmdir(tmp);
	return 0;
}
