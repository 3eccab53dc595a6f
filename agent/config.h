/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's configuration: /etc/sluice/agent.conf (INI, libinih), merged with the identity's. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define AGENT_DEFAULT_CONFIG "/etc/sluice/agent.conf"
#define AGENT_DEFAULT_STATE_DIR "/var/lib/sluice-agent"
#define AGENT_CONFIG_MAX (64u * 1024)	  /* bytes of one configuration file */
#define AGENT_ID_MAX 64			  /* bytes of a device id or hardware name */
#define AGENT_HEALTH_DEADLINE_DEFAULT 120 /* seconds */
#define AGENT_HEALTH_DEADLINE_MAX 3600
#define AGENT_BOOTLIMIT_DEFAULT 1 /* "try once" */
#define AGENT_POLL_INTERVAL_DEFAULT 300	 /* seconds between check-ins */
#define AGENT_BACKOFF_MAX_DEFAULT 3600	 /* seconds: the cap of the failure backoff */
#define AGENT_INTERVAL_MAX 86400	 /* seconds: the largest poll interval or backoff cap */

enum agent_reboot_policy {
	AGENT_REBOOT_NOW,     /* run [reboot] command as soon as a reboot is needed */
	AGENT_REBOOT_COMMAND, /* never reboot; an operator or another service does it */
};

/* Every string is owned (malloc'd) and NULL when not configured. */
struct agent_config {
	char *state_dir;	  /* [agent] state_dir, default AGENT_DEFAULT_STATE_DIR */
	bool airgap;		  /* [agent] airgap, or SLUICE_AIRGAP=1 */
	char *url;		  /* [controlplane] url */
	char *device_id;	  /* [device] id */
	char *hardware;		  /* [device] hardware */
	char *accelerator;	  /* [device] accelerator, a device fact ("npu-x", "none") */
	char *runtimes;		  /* [device] runtimes, "onnxruntime=1.17,tflite=2.14" */
	char *slot_class;	  /* NAME of the one [slot.NAME] section ("rootfs") */
	char *slot_a, *slot_b;	  /* [slot.NAME] a, b: block devices or regular files */
	char *bootloader;	  /* [slot.NAME] bootloader: file|uboot|grub */
	char *bootloader_state;	  /* [slot.NAME] bootloader_state: the file backend's state file */
	char *uboot_config;	  /* [slot.NAME] uboot_config: fw_env.config of the uboot backend */
	char *grubenv;		  /* [slot.NAME] grubenv: the grub backend's environment block */
	char *models_dir;	  /* [models] dir */
	char *reload_command;	  /* [models] reload_command */
	char *smoke_test_command; /* [models] smoke_test_command */
	char *health_command;	  /* [health] command */
	unsigned health_deadline_s;		/* [health] deadline_s */
	enum agent_reboot_policy reboot_policy; /* [reboot] policy */
	char *reboot_command;			/* [reboot] command */
	unsigned poll_interval_s;		/* [controlplane] poll_interval_s */
	unsigned backoff_max_s;			/* [controlplane] backoff_max_s */
};

/* Set the defaults into a zeroed cfg. */
void agent_config_init(struct agent_config *cfg);

/*
 * Parse INI text (len bytes, at most AGENT_CONFIG_MAX) into cfg, over what it holds already.
 * what names the source in messages ("/etc/sluice/agent.conf"). Unknown sections and keys,
 * keys given twice and malformed values are SL_E_CONFIG with a message naming
 * "what: [section] key: reason". When identity_only is true only [device] id/hardware and
 * [controlplane] url are accepted (the provisioning medium's agent.conf), and a value that
 * differs from one already in cfg is SL_E_CONFIG.
 */
int agent_config_parse(const char *text, size_t len, const char *what, bool identity_only,
		       struct agent_config *cfg);

/*
 * Load path into cfg (agent_config_parse()). A missing file is -ENOENT and leaves cfg as it
 * was. SLUICE_AIRGAP=1 in the environment forces airgap on.
 */
int agent_config_load(const char *path, struct agent_config *cfg);

/*
 * Check what an install needs: device id and hardware, both slots, a known bootloader with
 * its state file, models dir when needed by install. SL_E_CONFIG naming section and key.
 */
int agent_config_validate_install(const struct agent_config *cfg);

/*
 * Check what the daemon (`run`) needs besides an install's needs: an https:// [controlplane]
 * url. SL_E_CONFIG naming section and key.
 */
int agent_config_validate_run(const struct agent_config *cfg);

/* Whether s is a safe identifier (device id, hardware, model name): [A-Za-z0-9._-], 1..64, no
 * leading '.'. */
bool agent_name_is_safe(const char *s);

/* Free every string of cfg and zero it. */
void agent_config_clear(struct agent_config *cfg);
