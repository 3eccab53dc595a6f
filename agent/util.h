/* SPDX-License-Identifier: Apache-2.0 */
/* Cleanup helpers for the library types the agent uses (json-c, tuf). */
#pragma once

#include <json-c/json.h>

#include "macro.h"
#include "tuf/crypto.h"
#include "tuf/fetcher.h"
#include "tuf/metadata.h"
#include "tuf/updater.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_metadata *, tuf_metadata_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_target_check *, tuf_target_check_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_fetcher *, tuf_fetcher_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_updater *, tuf_updater_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_hash *, tuf_hash_free)
