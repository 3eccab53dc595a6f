/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the file bootloader backend and of the boot-time decisions (agent/install.c). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"
#include "fileio.h"
#include "install.h"
#include "state.h"
#include "test.h"

static char *tmp;
static char envpath[512], statedir[512], slota[512], slotb[512], models[512];

static void write_env(const char *text)
{
	ASSERT_OK(sl_write_file_atomic(envpath, text, strlen(text), 0644));
}

static void read_env(char *buf, size_t size)
{
	int fd = open(envpath, O_RDONLY);
	ssize_t n;

	ASSERT_TRUE(fd >= 0);
	n = read(fd, buf, size - 1);
	ASSERT_TRUE(n >= 0);
	buf[n] = '\0';
	close(fd);
}

static void config(struct agent_config *cfg, const char *health)
{
	agent_config_init(cfg);
	cfg->bootloader = strdup("file");
	cfg->bootloader_state = strdup(envpath);
	cfg->slot_a = strdup(slota);
	cfg->slot_b = strdup(slotb);
	cfg->models_dir = strdup(models);
	cfg->state_dir = strdup(statedir);
	cfg->health_command = health ? strdup(health) : NULL;
	cfg->reboot_policy = AGENT_REBOOT_COMMAND;
}

TEST(file_backend)
{
	struct agent_config cfg;
	struct agent_boot *b;
	struct agent_boot_env env;
	char text[256];

	config(&cfg, NULL);
	unlink(envpath);
	ASSERT_OK(agent_boot_open(&cfg, &b));
	ASSERT_OK(agent_boot_get(b, &env));
	ASSERT_EQ_INT(env.primary, AGENT_SLOT_A);
	ASSERT_EQ_INT(env.booted, AGENT_SLOT_A);
	ASSERT_TRUE(!env.trial);
	ASSERT_EQ_INT(env.bootlimit, 1);

	ASSERT_OK(agent_boot_try_slot(b, AGENT_SLOT_B));
	read_env(text, sizeof(text));
	ASSERT_EQ_STR(text,
		      "boot_slot=b\nupgrade_available=1\nbootcount=0\nbootlimit=1\nbooted=a\n");

	write_env("boot_slot=b\nupgrade_available=1\nbootcount=1\nbootlimit=3\nbooted=b\n");
	ASSERT_OK(agent_boot_mark_good(b, AGENT_SLOT_B));
	ASSERT_OK(agent_boot_get(b, &env));
	ASSERT_TRUE(!env.trial && env.primary == AGENT_SLOT_B && env.bootcount == 0 &&
		    env.bootlimit == 3 && env.booted == AGENT_SLOT_B);
	ASSERT_OK(agent_boot_mark_bad(b, AGENT_SLOT_B));
	ASSERT_OK(agent_boot_get(b, &env));
	ASSERT_TRUE(!env.trial && env.primary == AGENT_SLOT_A);

	write_env("boot_slot=c\n");
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	write_env("bootcount=-1\n");
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	write_env("upgrade_available=2\n");
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	write_env("[section]\nboot_slot=a\n");
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	write_env("garbage line\n");
	ASSERT_ERR(agent_boot_get(b, &env), TUF_E_STATE);
	agent_boot_free(b);

	free(cfg.bootloader);
	cfg.bootloader = strdup("lilo");
	ASSERT_ERR(agent_boot_open(&cfg, &b), SL_E_CONFIG);
	agent_config_clear(&cfg);
}

/* An install record of release 2 with one image for slot b, in phase. */
static void set_install(enum agent_phase phase)
{
	struct agent_install st = {};

	st.phase = phase;
	st.release = strdup("2");
	st.version = strdup("2");
	st.slot = AGENT_SLOT_B;
	st.n_items = 1;
	st.items[0].path = strdup("images/rootfs.img");
	st.items[0].image = true;
	memset(st.items[0].sha256, 'a', 64);
	st.items[0].length = 10;
	ASSERT_OK(agent_install_save(statedir, &st));
	agent_install_clear(&st);
}

static enum agent_phase run_check(const char *health, enum agent_outcome want, int want_r)
{
	struct agent_config cfg;
	struct agent_boot *b;
	struct agent_install st;
	enum agent_outcome out;
	struct agent_ctx c;
	enum agent_phase p;

	config(&cfg, health);
	ASSERT_OK(agent_boot_open(&cfg, &b));
	c = (struct agent_ctx){.cfg = &cfg, .state_dir = statedir, .boot = b};
	ASSERT_EQ_INT(agent_boot_check_run(&c, &out), want_r);
	ASSERT_EQ_INT(out, want);
	ASSERT_OK(agent_install_load(statedir, &st));
	p = st.phase;
	agent_install_clear(&st);
	agent_boot_free(b);
	agent_config_clear(&cfg);
	return p;
}

TEST(boot_decisions)
{
	struct agent_install st;
	char text[256];

	/* Trial boot of b, healthy: commit and mark good. */
	set_install(AGENT_PHASE_SWITCHED);
	write_env("boot_slot=b\nupgrade_available=1\nbootcount=1\nbootlimit=1\nbooted=b\n");
	ASSERT_EQ_INT(run_check("true", AGENT_OUTCOME_COMMITTED, 0), AGENT_PHASE_COMMITTED);
	read_env(text, sizeof(text));
	ASSERT_EQ_STR(text,
		      "boot_slot=b\nupgrade_available=0\nbootcount=0\nbootlimit=1\nbooted=b\n");
	ASSERT_OK(agent_install_load(statedir, &st));
	ASSERT_EQ_STR(st.installed_release, "2");
	agent_install_clear(&st);

	/* Trial boot of b, unhealthy: fall back to a. */
	set_install(AGENT_PHASE_SWITCHED);
	write_env("boot_slot=b\nupgrade_available=1\nbootcount=1\nbootlimit=1\nbooted=b\n");
	ASSERT_EQ_INT(run_check("exit 3", AGENT_OUTCOME_ROLLED_BACK, SL_E_IO),
		      AGENT_PHASE_ROLLED_BACK);
	read_env(text, sizeof(text));
	ASSERT_EQ_STR(text,
		      "boot_slot=a\nupgrade_available=0\nbootcount=0\nbootlimit=1\nbooted=b\n");

	/* Health check past its deadline counts as failed. */
	set_install(AGENT_PHASE_BOOTED);
	write_env("boot_slot=b\nupgrade_available=1\nbootcount=1\nbootlimit=2\nbooted=b\n");
	{
		struct agent_config cfg;
		struct agent_boot *b;
		enum agent_outcome out;
		struct agent_ctx c;

		config(&cfg, "sleep 5");
		cfg.health_deadline_s = 1;
		ASSERT_OK(agent_boot_open(&cfg, &b));
		c = (struct agent_ctx){.cfg = &cfg, .state_dir = statedir, .boot = b};
		ASSERT_EQ_INT(agent_boot_check_run(&c, &out), -ETIMEDOUT);
		ASSERT_EQ_INT(out, AGENT_OUTCOME_ROLLED_BACK);
		agent_boot_free(b);
		agent_config_clear(&cfg);
	}

	/* The bootloader fell back to a before the agent ran: record the rollback. */
	set_install(AGENT_PHASE_BOOTED);
	write_env("boot_slot=a\nupgrade_available=0\nbootcount=0\nbootlimit=1\nbooted=a\n");
	ASSERT_EQ_INT(run_check("true", AGENT_OUTCOME_ROLLED_BACK, SL_E_IO),
		      AGENT_PHASE_ROLLED_BACK);
	ASSERT_OK(agent_install_load(statedir, &st));
	ASSERT_TRUE(strstr(st.error, "fell back to slot a"));
	agent_install_clear(&st);

	/* Switched but not rebooted yet: nothing happens. */
	set_install(AGENT_PHASE_SWITCHED);
	write_env("boot_slot=b\nupgrade_available=1\nbootcount=0\nbootlimit=1\nbooted=a\n");
	ASSERT_EQ_INT(run_check("true", AGENT_OUTCOME_PENDING, 0), AGENT_PHASE_SWITCHED);

	/* Killed between the bootloader switch and recording it: the trial boot still commits. */
	set_install(AGENT_PHASE_VERIFIED);
	write_env("boot_slot=b\nupgrade_available=1\nbootcount=1\nbootlimit=1\nbooted=b\n");
	ASSERT_EQ_INT(run_check("true", AGENT_OUTCOME_COMMITTED, 0), AGENT_PHASE_COMMITTED);

	/* Verified, never switched: boot-check leaves it for the next install run. */
	set_install(AGENT_PHASE_VERIFIED);
	write_env("boot_slot=a\nupgrade_available=0\nbootcount=0\nbootlimit=1\nbooted=a\n");
	ASSERT_EQ_INT(run_check("true", AGENT_OUTCOME_NOTHING, 0), AGENT_PHASE_VERIFIED);

	/* A rolled back install left as the bootloader's trial is repaired. */
	set_install(AGENT_PHASE_ROLLED_BACK);
	write_env("boot_slot=b\nupgrade_available=1\nbootcount=0\nbootlimit=1\nbooted=a\n");
	ASSERT_EQ_INT(run_check("true", AGENT_OUTCOME_NOTHING, 0), AGENT_PHASE_ROLLED_BACK);
	read_env(text, sizeof(text));
	ASSERT_TRUE(strstr(text, "boot_slot=a\nupgrade_available=0"));
}

int main(void)
{
	ASSERT_OK(sl_mkdtemp_private(NULL, &tmp));
	snprintf(envpath, sizeof(envpath), "%s/boot.env", tmp);
	snprintf(statedir, sizeof(statedir), "%s/state", tmp);
	snprintf(slota, sizeof(slota), "%s/slot-a", tmp);
	snprintf(slotb, sizeof(slotb), "%s/slot-b", tmp);
	snprintf(models, sizeof(models), "%s/models", tmp);
	RUN(file_backend);
	RUN(boot_decisions);
	sl_rm_rf(tmp);
	free(tmp);
	return 0;
}
