/* test-cli-print.c - the CLI's output (the paper's tab-separated tables,
 * the vm run lines, --json) and its RPC client (answer decoding, a round
 * trip over a socketpair, an unreachable daemon). Run with TZ=UTC. */
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "basic/frame.h"
#include "cli/cli.h"
#include "cli/rpc.h"
#include "cli/table.h"
#include "tap.h"

static json_t *load(const char *text) {
        char *s = xstrdup(text);
        for (char *p = s; *p; p++)
                if (*p == '\'')
                        *p = '"';
        json_error_t e;
        json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
        if (!j)
                printf("# bad JSON %s: %s\n", s, e.text);
        free(s);
        return j;
}

/* Run a printer on data (and request args), return what it wrote. */
static char *render(cli_print_fn fn, const char *args, const char *data, int *ret) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        json_t *a = load(args), *d = load(data);
        *ret = fn(f, a, d);
        fclose(f);
        json_decref(a);
        json_decref(d);
        return buf;
}

static void check(cli_print_fn fn, const char *name, const char *args, const char *data, const char *want) {
        int r;
        char *got = render(fn, args, data, &r);
        is_int(r, 0, "%s: printed", name);
        is_str(got, want, "%s: output", name);
        free(got);
}

static void test_tables(void) {
        tap_diag("the paper's tables");
        check(cli_print_groups, "--uglist", "{}",
              "[{'id':0,'name':'admin'},{'id':1,'name':'all_users'},{'id':10,'name':'studs'}]",
              "id\tname\n0\tadmin\n1\tall_users\n10\tstuds\n");

        check(cli_print_users, "--ulist", "{}",
              "[{'uid':503,'name':'admin1','groups':[0],'stordir':'/home/me','max_running':1000,"
              "'max_storage':142807662592,'storage_used':0,'running':0},"
              "{'uid':502,'name':'doraz','groups':[1,10],'stordir':'/home/doraz','max_running':1000,"
              "'max_storage':142807662592},"
              "{'uid':504,'name':'alex','groups':[1,10],'stordir':'/home/alex','max_running':2,"
              "'max_storage':13958643712}]",
              "uid\tname\tip_range\tgid_list\tmax_running_vm\tmax_storage\tstorage_folder\n"
              "503\tadmin1\t\t(0,)\t1000\t133G\t/home/me\n"
              "502\tdoraz\t\t(1,10,)\t1000\t133G\t/home/doraz\n"
              "504\talex\t\t(1,10,)\t2\t13G\t/home/alex\n");

        check(cli_print_vmgroups, "--vmglist", "{}",
              "[{'id':1,'name':'all_vms','iprange':'192.168.0.1-192.168.0.254','first':3232235521,'last':3232235774},"
              "{'id':2,'name':'lab1','iprange':'192.168.100.2-192.168.100.254'}]",
              "id\tname\tip_range\n1\tall_vms\t192.168.0.1-192.168.0.254\n2\tlab1\t192.168.100.2-192.168.100.254\n");

        check(cli_print_vms, "--vmlist", "{}",
              "[{'id':1001,'name':'gsr_vm','owner':503,'vmgroup':2,'derivable':true,'base':0,'mem':2147483648,"
              "'vcpus':1,'desc':'','discs':[{'path':'/tmp/504_gsr_vm_0.qcow2','size':5368709120,'allocated':0,"
              "'backing':null}]},"
              "{'id':1002,'name':'myvm','owner':502,'vmgroup':2,'derivable':false,'base':1001,'desc':'exam\\tvm',"
              "'discs':[{'path':'/home/doraz/502_myvm_0.qcow2','size':5368709120},"
              "{'path':'/home/doraz/502_myvm_1.qcow2','size':1073741824}]}]",
              "vmid\tname\towner_id\tvm_group\tderivable\tbase_id\tdesc\n"
              "\tstorage\n"
              "1001\tgsr_vm\t503\t2\t1\t0\t\n"
              "\t{'/tmp/504_gsr_vm_0.qcow2': 5120}\n"
              "1002\tmyvm\t502\t2\t0\t1001\texam vm\n"
              "\t{'/home/doraz/502_myvm_0.qcow2': 5120, '/home/doraz/502_myvm_1.qcow2': 1024}\n");

        check(cli_print_perms, "--permlist", "{}",
              "[{'subject_type':'user','subject':503,'object_type':'vm','object':1001,'run':true,'modify':true,"
              "'derive':true,'force_isolated':false},"
              "{'subject_type':'group','subject':10,'object_type':'vm','object':1001,'run':false,'modify':false,"
              "'derive':true,'force_isolated':true}]",
              "uid\tvmid\trun\tmodify\tderive\tforce_isolated\tsubject_type\tobject_type\n"
              "503\t1001\t1\t1\t1\t0\tuser\tvm\n"
              "10\t1001\t0\t0\t1\t1\tgroup\tvm\n");

        check(cli_print_map, "--maplist", "{}",
              "[{'id':1,'vm':1002,'uid':502,'ip':'192.168.100.2','mac':'de:af:de:af:64:02','isolated':true,"
              "'state':'running','exehost':'quad-wn29.grid.pub.ro','vnc_display':1,'vnc_port':5901,'tap':'tap1',"
              "'job_id':'4711','backend':'sge','created':'2013-01-22 16:44:40','started':'2013-01-22 16:44:51'},"
              "{'id':2,'vm':1001,'uid':503,'ip':'192.168.100.3','mac':'de:af:de:af:64:03','isolated':false,"
              "'state':'reserved','exehost':'','vnc_display':-1,'vnc_port':null,'tap':'','created':1358873091,"
              "'started':''}]",
              "uid\tvmid\tip\tmac\tisolated\texehost\tvnc\ttap\tdate\n"
              "502\t1002\t192.168.100.2\tde:af:de:af:64:02\t1\tquad-wn29.grid.pub.ro\t5901\ttap1\t2013-01-22 16:44:51\n"
              "503\t1001\t192.168.100.3\tde:af:de:af:64:03\t0\t\t\t\t2013-01-22 16:44:51\n");

        check(cli_print_audit, "audit list", "{}",
              "[{'id':1,'time':1358873091,'uid':503,'op':'vm.add','object':'vm 1001','detail':{'name':'gsr_vm'}}]",
              "id\ttime\tuid\top\tobject\tdetail\n1\t2013-01-22 16:44:51\t503\tvm.add\tvm 1001\t{\"name\":\"gsr_vm\"}\n");

        check(cli_print_groups, "empty list", "{}", "[]", "id\tname\n");
}

static void test_lines(void) {
        tap_diag("one-line answers");
        check(cli_print_run, "vm run started", "{'vm':'myvm','mem':2147483648,'isolate':true}",
              "{'id':1,'vm':1002,'uid':502,'ip':'192.168.100.2','mac':'de:af:de:af:64:02','isolated':true,"
              "'state':'running','exehost':'quad-wn29.grid.pub.ro','vnc_display':1,'vnc_port':5901,'tap':'tap1'}",
              "Your vm is accessible via host quad-wn29.grid.pub.ro vnc port 5901, display 1\n");
        check(cli_print_run, "vm run no display field", "{'vm':'myvm'}",
              "{'id':1,'exehost':'h','vnc_port':5903}", "Your vm is accessible via host h vnc port 5903, display 3\n");
        check(cli_print_run, "vm run --no-start", "{'vm':'myvm','no_start':true}",
              "{'id':7,'vm':1002,'ip':'192.168.100.3','mac':'de:af:de:af:64:03','state':'reserved','vnc_port':null}",
              "Instance 7 reserved: ip 192.168.100.3 mac de:af:de:af:64:03 (not started)\n");
        check(cli_print_run, "vm run queued", "{'vm':'myvm'}",
              "{'id':8,'ip':'192.168.100.4','mac':'de:af:de:af:64:04','state':'queued','job_id':'4712','vnc_port':0}",
              "Instance 8 queued, job 4712: ip 192.168.100.4 mac de:af:de:af:64:04; its vnc port shows in the map "
              "list once it runs\n");
        check(cli_print_stopped, "stop", "{'vm':'myvm'}", "{'id':8,'vm':1002,'state':'stopped'}",
              "Instance 8 of vm 1002: stopped\n");
        check(cli_print_instance, "instance show, no console", "{'instance':8}",
              "{'id':8,'vm':1002,'state':'running','console_open':false,'console_input_at':null}",
              "Instance 8 of vm 1002: running\nConsole: not open; last input: none\n");
        check(cli_print_instance, "instance show, a console", "{'instance':8}",
              "{'id':8,'vm':1002,'state':'running','console_open':true,'console_input_at':1796300000}",
              "Instance 8 of vm 1002: running\nConsole: open in a browser; last input: 2026-12-03 12:13:20\n");
        check(cli_print_instance, "instance show, an older vmbatchd", "{'instance':8}",
              "{'id':8,'vm':1002,'state':'paused'}", "Instance 8 of vm 1002: paused\n");
        check(cli_print_ping, "ping", "{}",
              "{'version':'0.1.0','uid':503,'user':'badadmin','admin':true,'initialized':true}",
              "vmbatchd 0.1.0: you are badadmin (uid 503), admin\n");
        check(cli_print_ping, "ping unknown", "{}",
              "{'version':'0.1.0','uid':1234,'user':null,'admin':false,'initialized':false}",
              "vmbatchd 0.1.0: you are not a vmbatch user (uid 1234)\n"
              "The database is not initialized yet (vmbatch init).\n");
        check(cli_print_init, "init", "{}", "{'admin_uid':503,'admin_name':'badadmin'}",
              "Database initialized; admin user badadmin (uid 503)\n");
        check(cli_print_added_vm, "vm add", "{}", "{'id':1002,'name':'myvm'}", "Added vm myvm (id 1002)\n");
        check(cli_print_added_user, "user add", "{}", "{'uid':502,'name':'doraz'}", "Added user doraz (uid 502)\n");
        check(cli_print_vm, "vm show", "{}",
              "{'id':1002,'name':'myvm','owner':502,'vmgroup':2,'derivable':false,'base':1001,'mem':2147483648,"
              "'vcpus':1,'desc':'','discs':[{'path':'/home/doraz/502_myvm_0.qcow2','size':5368709120,"
              "'allocated':200704,'backing':'/tmp/504_gsr_vm_0.qcow2'}],'kernel':'','initrd':'','cmdline':''}",
              "vmid:      1002\nname:      myvm\nowner_id:  502\nvm_group:  2\nderivable: 0\nbase_id:   1001\n"
              "mem:       2G\nvcpus:     1\ndesc:      \n"
              "disc0:     /home/doraz/502_myvm_0.qcow2 size 5G allocated 196K backing /tmp/504_gsr_vm_0.qcow2\n");
}

static void test_json_and_bad(void) {
        tap_diag("--json and malformed answers");
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        json_t *d = load("[{'id':0,'name':'admin'}]");
        is_int(cli_print_json(f, d), 0, "json printed");
        fclose(f);
        is_str(buf, "[\n  {\n    \"id\": 0,\n    \"name\": \"admin\"\n  }\n]\n", "json indented");
        free(buf);
        json_decref(d);

        int r;
        char *out = render(cli_print_users, "{}", "{'uid':1}", &r);
        is_int(r, -EBADMSG, "a list printer refuses an object");
        free(out);
        out = render(cli_print_vms, "{}", "[1,2]", &r);
        is_int(r, -EBADMSG, "a list printer refuses non-objects");
        free(out);
        out = render(cli_print_run, "{}", "[]", &r);
        is_int(r, -EBADMSG, "run refuses a list");
        free(out);
}

static void test_table(void) {
        tap_diag("table");
        static const char *const h[] = {"a", "b"};
        Table *t = table_new(2, h);
        table_add(t, "x\ty");
        table_add(t, "multi\nline");
        table_add(t, "short row");
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        is_int(table_print(t, f), 0, "table printed");
        fclose(f);
        is_str(buf, "a\tb\nx y\tmulti line\nshort row\t\n", "cells sanitised, short rows padded");
        free(buf);
        table_free(t);
        table_free(NULL);
}

static void test_rpc(void) {
        tap_diag("rpc");
        Error err = {0};
        json_t *data = NULL, *resp;

        resp = load("{'ok':true,'data':{'x':1}}");
        is_int(rpc_response_data(resp, &data, &err), 0, "ok answer");
        ok(json_integer_value(json_object_get(data, "x")) == 1, "ok answer data");
        json_decref(data);
        json_decref(resp);

        resp = load("{'ok':true}");
        data = NULL;
        is_int(rpc_response_data(resp, &data, &err), 0, "ok answer without data");
        ok(json_is_null(data), "missing data is null");
        json_decref(data);
        json_decref(resp);

        resp = json_loads("{\"ok\":false,\"error\":{\"code\":\"EPERM\",\"message\":"
                          "\"You don't have permission to derive this vm\"}}",
                          0, NULL);
        is_int(rpc_response_data(resp, &data, &err), -EPERM, "error answer: errno from code");
        is_str(err.message, "You don't have permission to derive this vm", "error answer: message");
        json_decref(resp);

        error_clear(&err);
        resp = load("{'ok':false,'error':{'code':'EWHATEVER'}}");
        is_int(rpc_response_data(resp, &data, &err), -EIO, "unknown code is EIO");
        is_str(err.message, "EWHATEVER", "no message: the code");
        json_decref(resp);

        error_clear(&err);
        resp = load("{'data':1}");
        is_int(rpc_response_data(resp, &data, &err), -EBADMSG, "malformed answer");
        json_decref(resp);

        /* a round trip over a socketpair with a child acting as the daemon */
        int sv[2];
        ok(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
        pid_t pid = fork();
        if (pid == 0) {
                json_t *req = NULL;
                close(sv[0]);
                if (frame_recv(sv[1], &req) < 0)
                        _exit(1);
                json_t *ans = json_pack("{s:b, s:{s:O}}", "ok", 1, "data", "echo", req);
                frame_send(sv[1], ans);
                /* read the second request, then hang up without answering */
                if (frame_recv(sv[1], &req) < 0)
                        _exit(1);
                _exit(0);
        }
        close(sv[1]);
        json_t *req = load("{'op':'vm.run','args':{'vm':'myvm','isolate':true}}");
        error_clear(&err);
        data = NULL;
        is_int(rpc_call_fd(sv[0], req, &data, &err), 0, "round trip");
        ok(json_equal(json_object_get(data, "echo"), req), "the daemon saw exactly the request");
        json_decref(data);

        /* the daemon hangs up without answering */
        error_clear(&err);
        is_int(rpc_call_fd(sv[0], req, &data, &err), -EPIPE, "hang-up");
        is_str(err.message, "vmbatchd closed the connection without answering", "hang-up message");
        close(sv[0]);
        json_decref(req);
        int status;
        waitpid(pid, &status, 0);
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fake daemon exited cleanly");

        error_clear(&err);
        int fd = rpc_connect("/nonexistent/vmbatchd.sock", &err);
        is_int(fd, -ENOENT, "unreachable daemon");
        is_str(err.message,
               "cannot reach vmbatchd at /nonexistent/vmbatchd.sock: No such file or directory (is vmbatchd running?)",
               "unreachable daemon message names the socket");
}

int main(void) {
        setenv("TZ", "UTC", 1);
        signal(SIGPIPE, SIG_IGN);
        test_tables();
        test_lines();
        test_json_and_bad();
        test_table();
        test_rpc();
        return tap_done();
}
