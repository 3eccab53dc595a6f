/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of agent/config.c and agent/facts.c: strict INI keys, validation, model needs. */
#include <string.h>

#include "config.h"
#include "facts.h"
#include "test.h"

static const char full[] = "[agent]\nstate_dir = /var/lib/x\nairgap = yes\n"
			   "[controlplane]\nurl = https://cp.example/\n"
			   "[device]\nid = dev-1\nhardware = board-a\naccelerator = npu-x, gpu\n"
			   "runtimes = onnxruntime=1.17, tflite=2.14.1\n"
			   "[slot.rootfs]\na = /dev/sda2\nb = /dev/sda3\nbootloader = file\n"
			   "bootloader_state = /var/lib/boot.env\n"
			   "[models]\ndir = /var/lib/models\nreload_command = true\n"
			   "[health]\ncommand = /bin/true\ndeadline_s = 30\n"
			   "[reboot]\npolicy = now\ncommand = systemctl reboot\n";

static int parse(const char *text, struct agent_config *cfg)
{
	agent_config_init(cfg);
	return agent_config_parse(text, strlen(text), "t.conf", false, cfg);
}

static void expect_config_error(const char *text, const char *fragment)
{
	struct agent_config cfg;

	ASSERT_ERR(parse(text, &cfg), SL_E_CONFIG);
	if (!strstr(sl_error_message(SL_E_CONFIG), fragment)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", sl_error_message(SL_E_CONFIG),
			fragment);
		abort();
	}
	agent_config_clear(&cfg);
}

TEST(full)
{
	struct agent_config cfg;

	ASSERT_OK(parse(full, &cfg));
	ASSERT_EQ_STR(cfg.state_dir, "/var/lib/x");
	ASSERT_TRUE(cfg.airgap);
	ASSERT_EQ_STR(cfg.slot_class, "rootfs");
	ASSERT_EQ_STR(cfg.slot_b, "/dev/sda3");
	ASSERT_EQ_STR(cfg.bootloader_state, "/var/lib/boot.env");
	ASSERT_EQ_INT(cfg.health_deadline_s, 30);
	ASSERT_EQ_INT(cfg.reboot_policy, AGENT_REBOOT_NOW);
	ASSERT_OK(agent_config_validate_install(&cfg));
	agent_config_clear(&cfg);
}

TEST(rejections)
{
	expect_config_error("[bogus]\nk = v\n", "[bogus] k: unknown section");
	expect_config_error("[device]\ncolour = red\n", "[device] colour: unknown key");
	expect_config_error("[slot.rootfs]\na = relative/path\n",
			    "[slot.rootfs] a: 'relative/path' is not an absolute path");
	expect_config_error("[device]\nid = a\nid = b\n", "[device] id: given twice");
	expect_config_error("[device]\nid = ../etc\n", "[device] id");
	expect_config_error("[agent]\nairgap = maybe\n", "not a boolean");
	expect_config_error("[health]\ndeadline_s = 0\n", "deadline_s");
	expect_config_error("[health]\ndeadline_s = 12x\n", "deadline_s");
	expect_config_error("[slot.rootfs]\nbootloader = lilo\n", "not one of file, uboot, grub");
	expect_config_error("[reboot]\npolicy = later\n", "not one of now, command");
	expect_config_error("[controlplane]\nurl = ftp://x/\n", "not an http(s) URL");
	expect_config_error("[slot.a]\na = /x\n[slot.b]\nb = /y\n", "only one slot class");
	expect_config_error("just a line\n", "line 1");
	{
		struct agent_config cfg;

		agent_config_init(&cfg);
		ASSERT_ERR(agent_config_parse("[device]\nid = a\0b\n", 18, "t", false, &cfg),
			   SL_E_CONFIG);
		ASSERT_TRUE(strstr(sl_error_message(SL_E_CONFIG), "NUL"));
		agent_config_clear(&cfg);
	}
}

TEST(too_large)
{
	struct agent_config cfg;
	char *big = malloc(AGENT_CONFIG_MAX + 2);

	memset(big, ';', AGENT_CONFIG_MAX + 1);
	big[AGENT_CONFIG_MAX + 1] = '\0';
	ASSERT_ERR(parse(big, &cfg), SL_E_TOO_LARGE);
	agent_config_clear(&cfg);
	free(big);
}

TEST(identity_merge)
{
	struct agent_config cfg;
	const char *id =
	    "[device]\nid = dev-1\nhardware = board-a\n[controlplane]\nurl = https://cp.example/\n";

	ASSERT_OK(parse(full, &cfg));
	ASSERT_OK(agent_config_parse(id, strlen(id), "identity", true, &cfg));
	ASSERT_ERR(agent_config_parse("[device]\nid = dev-2\n", 20, "identity", true, &cfg),
		   SL_E_CONFIG);
	ASSERT_TRUE(strstr(sl_error_message(SL_E_CONFIG), "contradicts"));
	ASSERT_ERR(agent_config_parse("[agent]\nairgap = no\n", 20, "identity", true, &cfg),
		   SL_E_CONFIG);
	ASSERT_TRUE(strstr(sl_error_message(SL_E_CONFIG), "not allowed"));
	ASSERT_EQ_STR(cfg.device_id, "dev-1");
	agent_config_clear(&cfg);
}

TEST(validate)
{
	struct agent_config cfg;

	ASSERT_OK(parse(
	    "[device]\nid = d\nhardware = h\n[models]\ndir = /m\n[slot.rootfs]\na = /a\n", &cfg));
	ASSERT_ERR(agent_config_validate_install(&cfg), SL_E_CONFIG);
	ASSERT_TRUE(strstr(sl_error_message(SL_E_CONFIG), "[slot.rootfs] b"));
	agent_config_clear(&cfg);
	ASSERT_OK(
	    parse("[device]\nid = d\nhardware = h\n[models]\ndir = /m\n[slot.rootfs]\na = /a\n"
		  "b = /b\nbootloader = uboot\n",
		  &cfg));
	ASSERT_ERR(agent_config_validate_install(&cfg), SL_E_CONFIG);
	ASSERT_TRUE(strstr(sl_error_message(SL_E_CONFIG), "[slot.rootfs] uboot_config"));
	agent_config_clear(&cfg);
	ASSERT_OK(
	    parse("[device]\nid = d\nhardware = h\n[models]\ndir = /m\n[slot.rootfs]\na = /a\n"
		  "b = /b\nbootloader = file\nbootloader_state = /s\n[reboot]\npolicy = now\n",
		  &cfg));
	ASSERT_ERR(agent_config_validate_install(&cfg), SL_E_CONFIG);
	ASSERT_TRUE(strstr(sl_error_message(SL_E_CONFIG), "[reboot] command"));
	agent_config_clear(&cfg);
}

TEST(names)
{
	ASSERT_TRUE(agent_name_is_safe("dev-1.a_B"));
	ASSERT_TRUE(!agent_name_is_safe(""));
	ASSERT_TRUE(!agent_name_is_safe(".hidden"));
	ASSERT_TRUE(!agent_name_is_safe("a/b"));
	ASSERT_TRUE(!agent_name_is_safe("a b"));
	ASSERT_TRUE(!agent_name_is_safe(
	    "0123456789012345678901234567890123456789012345678901234567890123456789"));
}

TEST(versions)
{
	ASSERT_TRUE(agent_version_compare("2026.11.1", "2026.9.3") > 0);
	ASSERT_TRUE(agent_version_compare("1.2", "1.2.0") < 0);
	ASSERT_TRUE(agent_version_compare("1.02", "1.2") == 0);
	ASSERT_TRUE(agent_version_compare("1.10", "1.9") > 0);
	ASSERT_TRUE(agent_version_compare("2", "10") < 0);
	ASSERT_TRUE(agent_version_compare("1.0-rc1", "1.0-rc2") < 0);
}

TEST(model_needs)
{
	struct agent_config cfg;

	ASSERT_OK(parse(full, &cfg));
	ASSERT_OK(agent_facts_check_model(&cfg, "m", "onnxruntime>=1.16", "any"));
	ASSERT_OK(agent_facts_check_model(&cfg, "m", "onnxruntime", NULL));
	ASSERT_OK(agent_facts_check_model(&cfg, "m", "tflite==2.14.1", "gpu"));
	ASSERT_OK(agent_facts_check_model(&cfg, "m", "onnxruntime<2", "npu-x"));
	ASSERT_ERR(agent_facts_check_model(&cfg, "m", "onnxruntime>=1.18", NULL),
		   TUF_E_UNSUPPORTED);
	ASSERT_TRUE(strstr(sl_error_message(TUF_E_UNSUPPORTED), "the device has onnxruntime 1.17"));
	ASSERT_ERR(agent_facts_check_model(&cfg, "m", "tensorrt>=8", NULL), TUF_E_UNSUPPORTED);
	ASSERT_ERR(agent_facts_check_model(&cfg, "m", NULL, "tpu"), TUF_E_UNSUPPORTED);
	ASSERT_ERR(agent_facts_check_model(&cfg, "m", ">=1", NULL), SL_E_INVALID);
	ASSERT_ERR(agent_facts_check_model(&cfg, "m", "onnxruntime>>=1", NULL), SL_E_INVALID);
	ASSERT_ERR(agent_facts_check_model(&cfg, "m", "onnxruntime>=", NULL), SL_E_INVALID);
	agent_config_clear(&cfg);
}

int main(void)
{
	RUN(full);
	RUN(rejections);
	RUN(too_large);
	RUN(identity_merge);
	RUN(validate);
	RUN(names);
	RUN(versions);
	RUN(model_needs);
	return 0;
}
