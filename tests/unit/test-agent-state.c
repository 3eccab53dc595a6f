/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the install record, the lock, the event queue, model links and commands. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events.h"
#include "exec.h"
#include "fileio.h"
#include "model.h"
#include "state.h"
#include "test.h"

static char *tmp;

static void put(const char *path, const char *text)
{
	ASSERT_OK(sl_write_file_atomic(path, text, strlen(text), 0600));
}

TEST(install_roundtrip)
{
	struct agent_install st = {}, back;
	char path[600];

	ASSERT_OK(agent_install_load(tmp, &back)); /* missing: idle */
	ASSERT_EQ_INT(back.phase, AGENT_PHASE_IDLE);
	st.phase = AGENT_PHASE_DOWNLOADING;
	st.release = strdup("2026.1");
	st.version = strdup("2026.1.0");
	st.source = strdup("offline");
	st.slot = AGENT_SLOT_B;
	st.written = 1234;
	st.installed_release = strdup("2025.9");
	st.installed_version = strdup("2025.9.0");
	st.n_items = 2;
	st.items[0].path = strdup("images/r.img");
	st.items[0].image = true;
	memset(st.items[0].sha256, 'b', 64);
	st.items[0].length = 99;
	st.items[1].path = strdup("models/det.onnx");
	st.items[1].model = strdup("det");
	st.items[1].file = strdup("det.onnx");
	st.items[1].previous = strdup("cafe");
	memset(st.items[1].sha256, 'c', 64);
	ASSERT_OK(agent_install_save(tmp, &st));
	ASSERT_OK(agent_install_load(tmp, &back));
	ASSERT_EQ_INT(back.phase, AGENT_PHASE_DOWNLOADING);
	ASSERT_EQ_STR(back.release, "2026.1");
	ASSERT_EQ_INT(back.slot, AGENT_SLOT_B);
	ASSERT_EQ_INT(back.written, 1234);
	ASSERT_EQ_STR(back.installed_version, "2025.9.0");
	ASSERT_EQ_INT(back.n_items, 2);
	ASSERT_TRUE(back.items[0].image && !back.items[1].image);
	ASSERT_EQ_STR(back.items[1].previous, "cafe");
	ASSERT_EQ_INT(back.items[0].length, 99);
	agent_install_clear(&back);
	agent_install_clear(&st);

	snprintf(path, sizeof(path), "%s/install/state.json", tmp);
	put(path, "{\"phase\": \"flying\"}");
	ASSERT_ERR(agent_install_load(tmp, &back), TUF_E_STATE);
	put(path, "{\"phase\": ");
	ASSERT_ERR(agent_install_load(tmp, &back), TUF_E_STATE);
	put(path,
	    "{\"phase\":\"switched\",\"slot\":\"b\",\"written\":0,\"updated\":0,\"targets\":[]}");
	ASSERT_ERR(agent_install_load(tmp, &back), TUF_E_STATE); /* active without a release */
	unlink(path);
}

TEST(lock)
{
	int a = -1, b = -1;

	ASSERT_OK(agent_lock(tmp, &a));
	ASSERT_ERR(agent_lock(tmp, &b), -EBUSY);
	close(a);
	ASSERT_OK(agent_lock(tmp, &b));
	close(b);
}

TEST(events)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	ASSERT_EQ_INT(agent_events_pending(tmp), 0);
	ASSERT_OK(agent_events_append(tmp, "2", "downloading", NULL));
	ASSERT_OK(agent_events_append(tmp, "2", "failed", "TUF_E_HASH: slot b: hash mismatch"));
	ASSERT_EQ_INT(agent_events_pending(tmp), 2);
	f = open_memstream(&buf, &len);
	ASSERT_OK(agent_events_list(tmp, 10, true, f));
	fclose(f);
	ASSERT_TRUE(strstr(buf, "\"type\":\"failed\"") || strstr(buf, "\"type\": \"failed\""));
	ASSERT_TRUE(strstr(buf, "TUF_E_HASH"));
	free(buf);
}

TEST(model_links)
{
	char models[600], dir[700];
	char *cur = NULL;

	snprintf(models, sizeof(models), "%s/models", tmp);
	ASSERT_ERR(agent_model_current(models, "det", &cur), -ENOENT);
	snprintf(dir, sizeof(dir), "%s/det/aaaa", models);
	ASSERT_OK(sl_mkdir_p(dir, 0755));
	ASSERT_OK(agent_model_point(models, "det", "aaaa"));
	ASSERT_OK(agent_model_current(models, "det", &cur));
	ASSERT_EQ_STR(cur, "aaaa");
	free(cur);
	ASSERT_OK(agent_model_point(models, "det", "bbbb"));
	ASSERT_OK(agent_model_current(models, "det", &cur));
	ASSERT_EQ_STR(cur, "bbbb");
	free(cur);
	ASSERT_OK(agent_model_point(models, "det", NULL));
	ASSERT_ERR(agent_model_current(models, "det", &cur), -ENOENT);
	ASSERT_OK(agent_model_remove(models, "det", "aaaa"));
	ASSERT_TRUE(access(dir, F_OK) < 0);
}

TEST(exec)
{
	char e[] = "SLUICE_X=42";
	char *env[] = {e, NULL};

	ASSERT_OK(agent_exec("t", "test \"$SLUICE_X\" = 42", env, 5));
	ASSERT_ERR(agent_exec("t", "exit 3", NULL, 5), SL_E_IO);
	ASSERT_TRUE(strstr(sl_error_message(SL_E_IO), "status 3"));
	ASSERT_ERR(agent_exec("t", "kill -9 $$", NULL, 5), SL_E_IO);
	ASSERT_ERR(agent_exec("t", "sleep 10", NULL, 1), -ETIMEDOUT);
}

int main(void)
{
	ASSERT_OK(sl_mkdtemp_private(NULL, &tmp));
	RUN(install_roundtrip);
	RUN(lock);
	RUN(events);
	RUN(model_links);
	RUN(exec);
	sl_rm_rf(tmp);
	free(tmp);
	return 0;
}
