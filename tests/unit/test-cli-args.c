/* test-cli-args.c - the pure command-line translators: every command of the
 * paper's section 5.1 (vmapp syntax), every modern form, and bad input, are
 * turned into protocol requests without a daemon and compared with the
 * expected JSON. */
#include <stdio.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/paper.h"
#include "tap.h"

#define CWD "/home/doraz/work"

#define G5 "5368709120"
#define G2 "2147483648"
#define G1 "1073741824"
#define G13 "13958643712"
#define M512 "536870912"

/* Split a command line at blanks; '...' quotes (no escapes). */
static int split(const char *line, char ***ret) {
        char **argv = xcalloc(strlen(line) + 2, sizeof(char *));
        int argc = 0;
        const char *p = line;
        while (*p) {
                while (*p == ' ')
                        p++;
                if (!*p)
                        break;
                char *w = xcalloc(strlen(p) + 1, 1);
                size_t o = 0;
                bool quoted = false;
                while (*p && (quoted || *p != ' ')) {
                        if (*p == '\'')
                                quoted = !quoted;
                        else
                                w[o++] = *p;
                        p++;
                }
                argv[argc++] = w;
        }
        *ret = argv;
        return argc;
}

static void free_argv(int argc, char **argv) {
        for (int i = 0; i < argc; i++)
                free(argv[i]);
        free(argv);
}

/* Expected requests are written with ' for " to keep them readable. */
static json_t *load(const char *want) {
        char *s = xstrdup(want);
        for (char *p = s; *p; p++)
                if (*p == '\'')
                        *p = '"';
        json_error_t e;
        json_t *j = json_loads(s, 0, &e);
        if (!j)
                printf("# bad expected JSON %s: %s\n", s, e.text);
        free(s);
        return j;
}

typedef int (*translator)(int argc, char **argv, const char *cwd, json_t **ret_req, Error *err);

static void check_ok(translator fn, const char *cwd, const char *line, const char *want) {
        char **argv;
        int argc = split(line, &argv);
        json_t *req = NULL, *exp = load(want);
        Error err = {0};
        int r = fn(argc, argv, cwd, &req, &err);
        if (!ok(r == 0 && exp && json_equal(req, exp), "%s", line)) {
                char *got = req ? json_dumps(req, JSON_SORT_KEYS) : NULL;
                char *w = exp ? json_dumps(exp, JSON_SORT_KEYS) : NULL;
                printf("#   r=%d err='%s'\n#   got  %s\n#   want %s\n", r, err.message, got ? got : "(none)",
                       w ? w : "(none)");
                free(got);
                free(w);
        }
        json_decref(req);
        json_decref(exp);
        free_argv(argc, argv);
}

static void check_err(translator fn, const char *cwd, const char *line, const char *want_msg) {
        char **argv;
        int argc = split(line, &argv);
        json_t *req = NULL;
        Error err = {0};
        int r = fn(argc, argv, cwd, &req, &err);
        if (!ok(r == -EINVAL && req == NULL && streq(err.message, want_msg), "refused: %s", line))
                printf("#   r=%d\n#   got  '%s'\n#   want '%s'\n", r, err.message, want_msg);
        json_decref(req);
        free_argv(argc, argv);
}

static void check_help(translator fn, const char *line) {
        char **argv;
        int argc = split(line, &argv);
        json_t *req = NULL;
        Error err = {0};
        int r = fn(argc, argv, CWD, &req, &err);
        if (!ok(r == CLI_HELP && req == NULL, "help: %s", line))
                printf("#   r=%d err='%s'\n", r, err.message);
        json_decref(req);
        free_argv(argc, argv);
}

#define P_OK(line, want) check_ok(cli_paper_to_request, CWD, line, want)
#define P_ERR(line, msg) check_err(cli_paper_to_request, CWD, line, msg)
#define M_OK(line, want) check_ok(cli_modern_to_request, CWD, line, want)
#define M_ERR(line, msg) check_err(cli_modern_to_request, CWD, line, msg)

static void test_paper_section_5_1(void) {
        tap_diag("paper section 5.1, verbatim");
        P_OK("vmapp --init --dbpath /root/vm.db", "{'op':'init','args':{'dbpath':'/root/vm.db'}}");
        P_OK("vmapp --ugadd --name studs --ugid 10", "{'op':'ugroup.add','args':{'name':'studs','id':10}}");
        P_OK("vmapp --uglist", "{'op':'ugroup.list','args':{}}");
        P_OK("vmapp --uadd --name doraz --uid 502 --ug studs --stordir /home/doraz",
             "{'op':'user.add','args':{'name':'doraz','uid':502,'groups':['studs'],'stordir':'/home/doraz'}}");
        P_OK("vmapp --uadd --name alex --uid 504 --ug studs --stordir /home/alex",
             "{'op':'user.add','args':{'name':'alex','uid':504,'groups':['studs'],'stordir':'/home/alex'}}");
        P_OK("vmapp --ulist", "{'op':'user.list','args':{}}");
        P_OK("vmapp --vmgadd --name lab1 --vmgid 2 --iprange 192.168.100.2-192.168.100.254",
             "{'op':'vmgroup.add','args':{'name':'lab1','id':2,'iprange':'192.168.100.2-192.168.100.254'}}");
        P_OK("vmapp --vmglist", "{'op':'vmgroup.list','args':{}}");
        P_OK("vmapp --vmadd --name gsr_vm --vmg lab --stor 5G, --mem 2G --derivable",
             "{'op':'vm.add','args':{'name':'gsr_vm','vmgroup':'lab','disc_sizes':[" G5 "],'mem':" G2
             ",'derivable':true}}");
        P_OK("vmapp --vmadd --name gsr_vm --vmg lab --usediscs /path/to/disc1.qcow2,/path/to/disc2.qcow2 --derivable",
             "{'op':'vm.add','args':{'name':'gsr_vm','vmgroup':'lab','usediscs':['/path/to/disc1.qcow2',"
             "'/path/to/disc2.qcow2'],'derivable':true}}");
        P_OK("vmapp --vmadd --name gsr_vm --vmg lab --base another_defined_vm",
             "{'op':'vm.add','args':{'name':'gsr_vm','vmgroup':'lab','base':'another_defined_vm'}}");
        P_OK("vmapp --vmrun --vm gsr_vm --install --cdrom /tmp/SL-63-x86_64-2012-08-24-LiveCD.iso --isolate --mem 2G",
             "{'op':'vm.run','args':{'vm':'gsr_vm','install':true,'cdrom':'/tmp/SL-63-x86_64-2012-08-24-LiveCD.iso',"
             "'isolate':true,'mem':" G2 "}}");
        P_OK("vmapp --vmlist", "{'op':'vm.list','args':{}}");
        P_OK("vmapp --permset +d,+i --ug studs --vm gsr_vm",
             "{'op':'perm.set','args':{'group':'studs','vm':'gsr_vm','derive':true,'force_isolated':true}}");
        P_OK("vmapp --permlist", "{'op':'perm.list','args':{}}");
        P_OK("vmapp --vmadd --name myvm --base gsr_vm", "{'op':'vm.add','args':{'name':'myvm','base':'gsr_vm'}}");
        P_OK("vmapp --vmrun --vm myvm --mem 2G", "{'op':'vm.run','args':{'vm':'myvm','mem':" G2 "}}");
        P_OK("vmapp --vmrun --vm myvm --mem 2G --isolate",
             "{'op':'vm.run','args':{'vm':'myvm','mem':" G2 ",'isolate':true}}");
        P_OK("vmapp --maplist", "{'op':'map.list','args':{}}");
        /* the prose spells some options with one dash */
        P_OK("vmapp --vmrun --vm myvm --mem 2G -isolate",
             "{'op':'vm.run','args':{'vm':'myvm','mem':" G2 ",'isolate':true}}");
        P_OK("vmapp --vmadd --name myvm -base gsr_vm", "{'op':'vm.add','args':{'name':'myvm','base':'gsr_vm'}}");
        /* the paper runs ui.py as root for --init: the program name does not matter */
        P_OK("/root/ui.py --init --dbpath /root/vm.db", "{'op':'init','args':{'dbpath':'/root/vm.db'}}");
}

static void test_paper_more(void) {
        tap_diag("paper syntax, the other actions and variants");
        P_OK("vmapp --init", "{'op':'init','args':{}}");
        P_OK("vmapp --init --dbpath vm.db", "{'op':'init','args':{'dbpath':'" CWD "/vm.db'}}");
        P_OK("vmapp --ugadd --name studs", "{'op':'ugroup.add','args':{'name':'studs'}}");
        P_OK("vmapp --ugdel --name studs", "{'op':'ugroup.del','args':{'group':'studs'}}");
        P_OK("vmapp --ugdel --ugid 10", "{'op':'ugroup.del','args':{'group':10}}");
        P_OK("vmapp --ugmod --ugid 10 --name students", "{'op':'ugroup.mod','args':{'group':10,'name':'students'}}");
        P_OK("vmapp --ugmod --name studs --newname students",
             "{'op':'ugroup.mod','args':{'group':'studs','name':'students'}}");
        P_OK("vmapp --uadd --name doraz", "{'op':'user.add','args':{'name':'doraz'}}");
        P_OK("vmapp --uadd --name doraz --uid 502 --ug studs,lab --stordir /home/doraz/ --maxvms 2 --maxstor 13G",
             "{'op':'user.add','args':{'name':'doraz','uid':502,'groups':['studs','lab'],'stordir':'/home/doraz',"
             "'max_running':2,'max_storage':" G13 "}}");
        P_OK("vmapp --uadd --name doraz --ug 10 --ug 11",
             "{'op':'user.add','args':{'name':'doraz','groups':[10,11]}}");
        P_OK("vmapp --uadd --name doraz --stordir vms", "{'op':'user.add','args':{'name':'doraz','stordir':'" CWD "/vms'}}");
        P_OK("vmapp --udel --name doraz", "{'op':'user.del','args':{'user':'doraz'}}");
        P_OK("vmapp --udel --uid 502", "{'op':'user.del','args':{'user':502}}");
        P_OK("vmapp --umod --uid 502 --maxvms 3 --maxstor 20G",
             "{'op':'user.mod','args':{'user':502,'max_running':3,'max_storage':21474836480}}");
        P_OK("vmapp --umod --name doraz --newname dora --ug lab --delug studs",
             "{'op':'user.mod','args':{'user':'doraz','name':'dora','add_groups':['lab'],'del_groups':['studs']}}");
        P_OK("vmapp --umod --uid 502 --name dora", "{'op':'user.mod','args':{'user':502,'name':'dora'}}");
        P_OK("vmapp --vmgadd --name lab1 --iprange 10.0.0.1-10.0.0.1",
             "{'op':'vmgroup.add','args':{'name':'lab1','iprange':'10.0.0.1-10.0.0.1'}}");
        P_OK("vmapp --vmgdel --vmgid 2", "{'op':'vmgroup.del','args':{'vmgroup':2}}");
        P_OK("vmapp --vmgdel --name lab1", "{'op':'vmgroup.del','args':{'vmgroup':'lab1'}}");
        P_OK("vmapp --vmgmod --vmgid 2 --iprange 192.168.100.2-192.168.100.100",
             "{'op':'vmgroup.mod','args':{'vmgroup':2,'iprange':'192.168.100.2-192.168.100.100'}}");
        P_OK("vmapp --vmgmod --name lab1 --newname lab2", "{'op':'vmgroup.mod','args':{'vmgroup':'lab1','name':'lab2'}}");
        P_OK("vmapp --vmadd --name v --stor 5G,1G", "{'op':'vm.add','args':{'name':'v','disc_sizes':[" G5 "," G1 "]}}");
        P_OK("vmapp --vmadd --name v --stor 5G --stor 1G,",
             "{'op':'vm.add','args':{'name':'v','disc_sizes':[" G5 "," G1 "]}}");
        P_OK("vmapp --vmadd --name v --stor=512M", "{'op':'vm.add','args':{'name':'v','disc_sizes':[" M512 "]}}");
        P_OK("vmapp --vmadd --name v --vmg 2 --usediscs ../a.qcow2,./b.qcow2,/x//y/../c.qcow2",
             "{'op':'vm.add','args':{'name':'v','vmgroup':2,'usediscs':['/home/doraz/a.qcow2',"
             "'" CWD "/b.qcow2','/x/c.qcow2']}}");
        P_OK("vmapp --vmadd --name v --stor 5G --vcpus 2 --desc 'my exam vm' --kernel vmlinuz --initrd /boot/initrd "
             "--cmdline 'console=ttyS0 ro'",
             "{'op':'vm.add','args':{'name':'v','disc_sizes':[" G5 "],'vcpus':2,'desc':'my exam vm','kernel':'" CWD
             "/vmlinuz','initrd':'/boot/initrd','cmdline':'console=ttyS0 ro'}}");
        P_OK("vmapp --vmdel --vm myvm", "{'op':'vm.del','args':{'vm':'myvm'}}");
        P_OK("vmapp --vmdel --vmid 1002 --keepdiscs", "{'op':'vm.del','args':{'vm':1002,'keep_discs':true}}");
        P_OK("vmapp --vmdel --name myvm", "{'op':'vm.del','args':{'vm':'myvm'}}");
        P_OK("vmapp --vmmod --vm myvm --mem 1G --noderivable",
             "{'op':'vm.mod','args':{'vm':'myvm','mem':" G1 ",'derivable':false}}");
        P_OK("vmapp --vmmod --vm 1001 --name gsr --derivable --vmg lab1 --desc ''",
             "{'op':'vm.mod','args':{'vm':1001,'name':'gsr','derivable':true,'vmgroup':'lab1','desc':''}}");
        P_OK("vmapp --vmmod --name myvm --newname myvm2", "{'op':'vm.mod','args':{'vm':'myvm','name':'myvm2'}}");
        P_OK("vmapp --vmshow --vm 1001", "{'op':'vm.show','args':{'vm':1001}}");
        P_OK("vmapp --permset -d,-i --ug studs --vm gsr_vm",
             "{'op':'perm.set','args':{'group':'studs','vm':'gsr_vm','derive':false,'force_isolated':false}}");
        P_OK("vmapp --permset +r,+m --u doraz --vmg lab1",
             "{'op':'perm.set','args':{'user':'doraz','vmgroup':'lab1','run':true,'modify':true}}");
        P_OK("vmapp --permset +rm,-i --u 502 --vm 1001",
             "{'op':'perm.set','args':{'user':502,'vm':1001,'run':true,'modify':true,'force_isolated':false}}");
        P_OK("vmapp --permset +run,-derive,+isolated --ug 10 --vm gsr_vm",
             "{'op':'perm.set','args':{'group':10,'vm':'gsr_vm','run':true,'derive':false,'force_isolated':true}}");
        P_OK("vmapp --permdel --ug studs --vm gsr_vm", "{'op':'perm.del','args':{'group':'studs','vm':'gsr_vm'}}");
        P_OK("vmapp --vmrun --vm myvm --nostart", "{'op':'vm.run','args':{'vm':'myvm','no_start':true}}");
        P_OK("vmapp --vmrun --vm gsr_vm --install --cdrom sl.iso --vcpus 2",
             "{'op':'vm.run','args':{'vm':'gsr_vm','install':true,'cdrom':'" CWD "/sl.iso','vcpus':2}}");
        P_OK("vmapp --vmstop --vm myvm", "{'op':'instance.stop','args':{'vm':'myvm'}}");
        P_OK("vmapp --vmstop --instance 7", "{'op':'instance.stop','args':{'instance':7}}");
        P_OK("vmapp --vmstop --instance 7 --force", "{'op':'instance.stop','args':{'instance':7,'force':true}}");
        P_OK("vmapp --vmrun --vm myvm --isolate --host n1 --walltime 2h",
             "{'op':'vm.run','args':{'vm':'myvm','isolate':true,'host':'n1','walltime':7200}}");
        P_OK("vmapp --vmrun --vm myvm --nowait", "{'op':'vm.run','args':{'vm':'myvm','_no_wait':true}}");
        P_OK("vmapp --vmrelease --instance 7", "{'op':'instance.release','args':{'instance':7}}");
        P_OK("vmapp --auditlist --limit 20", "{'op':'audit.list','args':{'limit':20}}");
        P_OK("vmapp --ping", "{'op':'ping','args':{}}");
        /* --json changes the output, not the request; it may come anywhere */
        P_OK("vmapp --json --vmlist", "{'op':'vm.list','args':{}}");
        P_OK("vmapp --ulist --json", "{'op':'user.list','args':{}}");
        /* option order does not matter */
        P_OK("vmapp --ug studs --vm gsr_vm --permset +d", "{'op':'perm.set','args':{'group':'studs','vm':'gsr_vm','derive':true}}");
        check_help(cli_paper_to_request, "vmapp --help");
        check_help(cli_paper_to_request, "vmapp -h");
        check_help(cli_paper_to_request, "vmapp --uadd --help");
        check_help(cli_paper_to_request, "vmapp --uadd --bogus --help");
        check_help(cli_paper_to_request, "vmapp --version");
}

static void test_paper_errors(void) {
        tap_diag("paper syntax, bad input");
        P_ERR("vmapp", "no action given (e.g. --vmlist)");
        P_ERR("vmapp --name x", "no action given (e.g. --vmlist)");
        P_ERR("vmapp --bogus", "unknown option '--bogus'");
        P_ERR("vmapp --ulist -x", "unknown option '-x'");
        P_ERR("vmapp --ulist extra", "unexpected argument 'extra'");
        P_ERR("vmapp --uadd --ulist", "conflicting actions '--uadd' and '--ulist'");
        P_ERR("vmapp --uadd", "missing --name");
        P_ERR("vmapp --uadd --name", "option '--name' requires a value");
        P_ERR("vmapp --uadd --name --uid 5", "option '--name' requires a value");
        P_ERR("vmapp --uadd --name x --name y", "option '--name' given more than once");
        P_ERR("vmapp --uadd --name x --uid abc", "invalid number 'abc' for --uid");
        P_ERR("vmapp --uadd --name x --uid -5", "invalid number '-5' for --uid");
        P_ERR("vmapp --uadd --name x --uid 4294967296", "invalid number '4294967296' for --uid");
        P_ERR("vmapp --uadd --name x --maxstor 13X", "invalid size '13X' for --maxstor (use e.g. 512M, 5G)");
        P_ERR("vmapp --uadd --name x --maxstor 1.5G", "invalid size '1.5G' for --maxstor (use e.g. 512M, 5G)");
        P_ERR("vmapp --uadd --name x --maxvms many", "invalid number 'many' for --maxvms");
        P_ERR("vmapp --uadd --name x --cdrom /a.iso", "option '--cdrom' cannot be used with --uadd");
        P_ERR("vmapp --uadd --name '' ", "empty name for --name");
        P_ERR("vmapp --uadd --name x --ug studs,,lab", "empty item in list 'studs,,lab' for --ug");
        P_ERR("vmapp --ugadd --name x --ugid 1x", "invalid number '1x' for --ugid");
        P_ERR("vmapp --ugdel --name x --ugid 3", "give --ugid or --name, not both");
        P_ERR("vmapp --ugdel", "missing --ugid or --name");
        P_ERR("vmapp --ugmod --ugid 3",
              "missing the new name (--ugid ID --name NEW, or --name OLD --newname NEW)");
        P_ERR("vmapp --umod --uid 502", "nothing to change");
        P_ERR("vmapp --vmgadd --name lab1", "missing --iprange");
        P_ERR("vmapp --vmgadd --name lab1 --iprange 192.168.100.2",
              "invalid IP range '192.168.100.2' for --iprange (expected A.B.C.D-E.F.G.H)");
        P_ERR("vmapp --vmgadd --name lab1 --iprange 192.168.100.2-192.168.300.1",
              "invalid IP range '192.168.100.2-192.168.300.1' for --iprange (expected A.B.C.D-E.F.G.H)");
        P_ERR("vmapp --vmgadd --name lab1 --iprange 10.0.0.9-10.0.0.1",
              "invalid IP range '10.0.0.9-10.0.0.1' for --iprange (first address after last)");
        P_ERR("vmapp --vmadd --name v", "give exactly one of --stor, --usediscs or --base");
        P_ERR("vmapp --vmadd --name v --stor 5G --base gsr_vm", "give exactly one of --stor, --usediscs or --base");
        P_ERR("vmapp --vmadd --name v --base gsr_vm --derivable", "a VM derived with --base cannot be --derivable");
        P_ERR("vmapp --vmadd --name v --stor 5X", "invalid size '5X' for --stor (use e.g. 512M, 5G)");
        P_ERR("vmapp --vmadd --name v --stor 5G,,1G", "empty item in list '5G,,1G' for --stor");
        P_ERR("vmapp --vmadd --name v --stor ,", "empty item in list ',' for --stor");
        P_ERR("vmapp --vmadd --name v --stor 0", "invalid size '0' for --stor (must not be zero)");
        P_ERR("vmapp --vmadd --name v --stor 5G --mem 0", "invalid size '0' for --mem (must not be zero)");
        P_ERR("vmapp --vmadd --name v --stor 5G --mem 2Q", "invalid size '2Q' for --mem (use e.g. 512M, 5G)");
        P_ERR("vmapp --vmadd --name v --stor 5G --vcpus 0", "invalid number '0' for --vcpus (must be at least 1)");
        P_ERR("vmapp --vmadd --name v --stor 5G --initrd /i", "--initrd and --cmdline need --kernel");
        P_ERR("vmapp --vmadd --name v --stor 5G --vm x", "option '--vm' cannot be used with --vmadd");
        P_ERR("vmapp --vmrun", "missing --vm");
        P_ERR("vmapp --vmrun --vm myvm --install", "--install needs --cdrom ISO");
        P_ERR("vmapp --vmrun --vm myvm --mem lots", "invalid size 'lots' for --mem (use e.g. 512M, 5G)");
        P_ERR("vmapp --vmrun --vm myvm --name x", "option '--name' cannot be used with --vmrun");
        P_ERR("vmapp --vmstop --vm a --instance 3", "give --vm or --instance, not both");
        P_ERR("vmapp --vmstop --instance three", "invalid number 'three' for --instance");
        P_ERR("vmapp --vmsuspend --instance 3 --force", "--force goes with --vmstop only");
        P_ERR("vmapp --vmrelease", "missing --instance");
        P_ERR("vmapp --vmmod --vm x", "nothing to change");
        P_ERR("vmapp --vmmod --vm x --derivable --noderivable", "--derivable and --noderivable contradict each other");
        P_ERR("vmapp --vmdel --vm x --vmid 3", "name the VM once (--vm, --vmid or --name)");
        P_ERR("vmapp --permset", "option '--permset' requires a value");
        P_ERR("vmapp --permset +x --ug studs --vm v",
              "invalid permission '+x' in '+x' (letters are r=run, m=modify, d=derive, i=force_isolated)");
        P_ERR("vmapp --permset d --ug studs --vm v",
              "invalid permission 'd' in 'd' (expected + or - followed by r, m, d or i)");
        P_ERR("vmapp --permset +d,,+i --ug studs --vm v", "empty item in permission list '+d,,+i'");
        P_ERR("vmapp --permset +d --ug studs", "give exactly one of --vm VM or --vmg VMGROUP");
        P_ERR("vmapp --permset +d --vm v", "give exactly one of --u USER or --ug GROUP");
        P_ERR("vmapp --permset +d --u doraz --ug studs --vm v", "give exactly one of --u USER or --ug GROUP");
        P_ERR("vmapp --permset +d --ug a,b --vm v", "give one user group with --ug");
        P_ERR("vmapp --auditlist --limit 0", "invalid number '0' for --limit (must be at least 1)");
        P_ERR("vmapp --derivable=yes --vmlist", "option '--derivable' does not take a value");
        /* relative paths need a working directory */
        check_err(cli_paper_to_request, NULL, "vmapp --vmadd --name v --usediscs a.qcow2",
                  "cannot make path 'a.qcow2' for --usediscs absolute");
        check_ok(cli_paper_to_request, NULL, "vmapp --vmadd --name v --usediscs /a.qcow2",
                 "{'op':'vm.add','args':{'name':'v','usediscs':['/a.qcow2']}}");
}

static void test_modern(void) {
        tap_diag("modern syntax");
        M_OK("vmbatch init --dbpath /root/vm.db", "{'op':'init','args':{'dbpath':'/root/vm.db'}}");
        M_OK("vmbatch init", "{'op':'init','args':{}}");
        M_OK("vmbatch ping", "{'op':'ping','args':{}}");
        M_OK("vmbatch group add studs --id 10", "{'op':'ugroup.add','args':{'name':'studs','id':10}}");
        M_OK("vmbatch group add studs", "{'op':'ugroup.add','args':{'name':'studs'}}");
        M_OK("vmbatch group mod studs --name students", "{'op':'ugroup.mod','args':{'group':'studs','name':'students'}}");
        M_OK("vmbatch group mod 10 --name students", "{'op':'ugroup.mod','args':{'group':10,'name':'students'}}");
        M_OK("vmbatch group del studs", "{'op':'ugroup.del','args':{'group':'studs'}}");
        M_OK("vmbatch group list", "{'op':'ugroup.list','args':{}}");
        M_OK("vmbatch user add doraz --uid 502 --group studs --stordir /home/doraz",
             "{'op':'user.add','args':{'name':'doraz','uid':502,'groups':['studs'],'stordir':'/home/doraz'}}");
        M_OK("vmbatch user add alex --uid 504 --group studs --group 11,lab --stordir /home/alex --max-running 2 "
             "--max-storage 13G",
             "{'op':'user.add','args':{'name':'alex','uid':504,'groups':['studs',11,'lab'],'stordir':'/home/alex',"
             "'max_running':2,'max_storage':" G13 "}}");
        M_OK("vmbatch user add doraz", "{'op':'user.add','args':{'name':'doraz'}}");
        M_OK("vmbatch user add --uid=502 doraz", "{'op':'user.add','args':{'name':'doraz','uid':502}}");
        M_OK("vmbatch user mod doraz --add-group lab --del-group studs --max-running 3",
             "{'op':'user.mod','args':{'user':'doraz','add_groups':['lab'],'del_groups':['studs'],'max_running':3}}");
        M_OK("vmbatch user mod 502 --name dora --stordir /srv/dora --max-storage 1T",
             "{'op':'user.mod','args':{'user':502,'name':'dora','stordir':'/srv/dora','max_storage':1099511627776}}");
        M_OK("vmbatch user del doraz", "{'op':'user.del','args':{'user':'doraz'}}");
        M_OK("vmbatch user del 502", "{'op':'user.del','args':{'user':502}}");
        M_OK("vmbatch user list", "{'op':'user.list','args':{}}");
        M_OK("vmbatch --json user list", "{'op':'user.list','args':{}}");
        M_OK("vmbatch user list --json", "{'op':'user.list','args':{}}");
        M_OK("vmbatch vmgroup add lab1 --iprange 192.168.100.2-192.168.100.254 --id 2",
             "{'op':'vmgroup.add','args':{'name':'lab1','id':2,'iprange':'192.168.100.2-192.168.100.254'}}");
        M_OK("vmbatch vmgroup mod lab1 --name lab2 --iprange 10.1.0.1-10.1.0.9",
             "{'op':'vmgroup.mod','args':{'vmgroup':'lab1','name':'lab2','iprange':'10.1.0.1-10.1.0.9'}}");
        M_OK("vmbatch vmgroup del 2", "{'op':'vmgroup.del','args':{'vmgroup':2}}");
        M_OK("vmbatch vmgroup list", "{'op':'vmgroup.list','args':{}}");
        M_OK("vmbatch vm add gsr_vm --vmgroup lab1 --disc 5G --mem 2G --derivable",
             "{'op':'vm.add','args':{'name':'gsr_vm','vmgroup':'lab1','disc_sizes':[" G5 "],'mem':" G2
             ",'derivable':true}}");
        M_OK("vmbatch vm add gsr_vm --disc 5G --disc 1G", "{'op':'vm.add','args':{'name':'gsr_vm','disc_sizes':[" G5 "," G1 "]}}");
        M_OK("vmbatch vm add gsr_vm --disc 5G,1G", "{'op':'vm.add','args':{'name':'gsr_vm','disc_sizes':[" G5 "," G1 "]}}");
        M_OK("vmbatch vm add gsr_vm --vmgroup 2 --usediscs /path/to/disc1.qcow2,disc2.qcow2 --derivable",
             "{'op':'vm.add','args':{'name':'gsr_vm','vmgroup':2,'usediscs':['/path/to/disc1.qcow2','" CWD
             "/disc2.qcow2'],'derivable':true}}");
        M_OK("vmbatch vm add myvm --base gsr_vm", "{'op':'vm.add','args':{'name':'myvm','base':'gsr_vm'}}");
        M_OK("vmbatch vm add myvm --base 1001 --desc 'exam vm' --vcpus 2",
             "{'op':'vm.add','args':{'name':'myvm','base':1001,'desc':'exam vm','vcpus':2}}");
        M_OK("vmbatch vm add k --disc 1G --kernel ./bzImage --initrd ../initrd.img --cmdline 'console=ttyS0'",
             "{'op':'vm.add','args':{'name':'k','disc_sizes':[" G1 "],'kernel':'" CWD
             "/bzImage','initrd':'/home/doraz/initrd.img','cmdline':'console=ttyS0'}}");
        M_OK("vmbatch vm mod myvm --mem 1G --vcpus 4 --no-derivable --desc x",
             "{'op':'vm.mod','args':{'vm':'myvm','mem':" G1 ",'vcpus':4,'derivable':false,'desc':'x'}}");
        M_OK("vmbatch vm mod 1001 --name gsr --derivable --vmgroup lab1 --kernel /k --initrd /i --cmdline ro",
             "{'op':'vm.mod','args':{'vm':1001,'name':'gsr','derivable':true,'vmgroup':'lab1','kernel':'/k',"
             "'initrd':'/i','cmdline':'ro'}}");
        M_OK("vmbatch vm del myvm", "{'op':'vm.del','args':{'vm':'myvm'}}");
        M_OK("vmbatch vm del myvm --keep-discs", "{'op':'vm.del','args':{'vm':'myvm','keep_discs':true}}");
        M_OK("vmbatch vm list", "{'op':'vm.list','args':{}}");
        M_OK("vmbatch vm show gsr_vm", "{'op':'vm.show','args':{'vm':'gsr_vm'}}");
        M_OK("vmbatch vm show 1001 --json", "{'op':'vm.show','args':{'vm':1001}}");
        M_OK("vmbatch vm run myvm --mem 2G --isolate", "{'op':'vm.run','args':{'vm':'myvm','mem':" G2 ",'isolate':true}}");
        M_OK("vmbatch vm run gsr_vm --install --cdrom /tmp/SL-63-x86_64-2012-08-24-LiveCD.iso --isolate --mem 2G",
             "{'op':'vm.run','args':{'vm':'gsr_vm','install':true,'cdrom':'/tmp/SL-63-x86_64-2012-08-24-LiveCD.iso',"
             "'isolate':true,'mem':" G2 "}}");
        M_OK("vmbatch vm run myvm --no-start --vcpus 2", "{'op':'vm.run','args':{'vm':'myvm','no_start':true,'vcpus':2}}");
        M_OK("vmbatch vm run myvm --cdrom tools.iso", "{'op':'vm.run','args':{'vm':'myvm','cdrom':'" CWD "/tools.iso'}}");
        M_OK("vmbatch vm run myvm --no-wait --host n2", "{'op':'vm.run','args':{'vm':'myvm','_no_wait':true,'host':'n2'}}");
        M_OK("vmbatch vm stop myvm --force", "{'op':'instance.stop','args':{'vm':'myvm','force':true}}");
        M_OK("vmbatch vm stop myvm", "{'op':'instance.stop','args':{'vm':'myvm'}}");
        M_OK("vmbatch vm stop --instance 7", "{'op':'instance.stop','args':{'instance':7}}");
        M_OK("vmbatch instance release 7", "{'op':'instance.release','args':{'instance':7}}");
        M_OK("vmbatch instance stop 7", "{'op':'instance.stop','args':{'instance':7}}");
        M_OK("vmbatch instance list", "{'op':'map.list','args':{}}");
        /* console: one instance's, or the teacher's wall (an option picks the op) */
        M_OK("vmbatch console g", "{'op':'console.open','args':{'vm':'g'}}");
        M_OK("vmbatch console --wall", "{'op':'console.wall','args':{}}");
        M_OK("vmbatch console --wall --vmgroup lab1", "{'op':'console.wall','args':{'vmgroup':'lab1'}}");
        M_OK("vmbatch console --wall --group studs", "{'op':'console.wall','args':{'group':'studs'}}");
        M_ERR("vmbatch console --wall g", "unexpected argument 'g'");
        M_ERR("vmbatch console --wall --instance 3", "option '--instance' cannot be used here");
        M_ERR("vmbatch console g --group studs", "option '--group' cannot be used here");
        M_OK("vmbatch perm set --group studs --vm gsr_vm +d,+i",
             "{'op':'perm.set','args':{'group':'studs','vm':'gsr_vm','derive':true,'force_isolated':true}}");
        M_OK("vmbatch perm set +r,+m,-d,+i --user doraz --vmgroup lab1",
             "{'op':'perm.set','args':{'user':'doraz','vmgroup':'lab1','run':true,'modify':true,'derive':false,"
             "'force_isolated':true}}");
        M_OK("vmbatch perm set --user 502 --vm 1002 -d",
             "{'op':'perm.set','args':{'user':502,'vm':1002,'derive':false}}");
        M_OK("vmbatch perm set --user 502 --vm 1002 -- -i,+r",
             "{'op':'perm.set','args':{'user':502,'vm':1002,'force_isolated':false,'run':true}}");
        M_OK("vmbatch perm del --group studs --vm gsr_vm", "{'op':'perm.del','args':{'group':'studs','vm':'gsr_vm'}}");
        M_OK("vmbatch perm list", "{'op':'perm.list','args':{}}");
        M_OK("vmbatch map list", "{'op':'map.list','args':{}}");
        M_OK("vmbatch audit list", "{'op':'audit.list','args':{}}");
        M_OK("vmbatch audit list --limit 50", "{'op':'audit.list','args':{'limit':50}}");
        /* a name after "--" may start with a dash */
        M_OK("vmbatch user add -- -odd", "{'op':'user.add','args':{'name':'-odd'}}");

        check_help(cli_modern_to_request, "vmbatch --help");
        check_help(cli_modern_to_request, "vmbatch help");
        check_help(cli_modern_to_request, "vmbatch help vm run");
        check_help(cli_modern_to_request, "vmbatch --version");
        check_help(cli_modern_to_request, "vmbatch user --help");
        check_help(cli_modern_to_request, "vmbatch user add --help");
        check_help(cli_modern_to_request, "vmbatch user add -h");
        check_help(cli_modern_to_request, "vmbatch vm run myvm --bogus --help");
        check_help(cli_modern_to_request, "vmbatch init --help");
        check_help(cli_modern_to_request, "vmbatch ping --help");
        check_help(cli_modern_to_request, "vmbatch perm set --help");
}

static void test_modern_errors(void) {
        tap_diag("modern syntax, bad input");
        M_ERR("vmbatch", "missing command");
        M_ERR("vmbatch --json", "missing command");
        M_ERR("vmbatch bogus", "unknown command 'bogus'");
        M_ERR("vmbatch --bogus user list", "unknown option '--bogus'");
        M_ERR("vmbatch user", "missing subcommand for 'user'");
        M_ERR("vmbatch user frob", "unknown user command 'frob'");
        M_ERR("vmbatch user add", "missing NAME");
        M_ERR("vmbatch user add a b", "unexpected argument 'b'");
        M_ERR("vmbatch user add doraz --bogus", "unknown option '--bogus'");
        M_ERR("vmbatch user add doraz -x", "unknown option '-x'");
        M_ERR("vmbatch user add doraz --uid", "option '--uid' requires a value");
        M_ERR("vmbatch user add doraz --uid --group x", "option '--uid' requires a value");
        M_ERR("vmbatch user add doraz --uid 12a", "invalid number '12a' for --uid");
        M_ERR("vmbatch user add doraz --uid 1 --uid 2", "option '--uid' given more than once");
        M_ERR("vmbatch user add doraz --max-storage 13Gb2", "invalid size '13Gb2' for --max-storage (use e.g. 512M, 5G)");
        M_ERR("vmbatch user add doraz --max-running x", "invalid number 'x' for --max-running");
        M_ERR("vmbatch user add doraz --group ''", "empty item in list '' for --group");
        M_ERR("vmbatch user mod doraz", "nothing to change");
        M_ERR("vmbatch user mod 99999999999 --name x", "invalid id '99999999999' for USER");
        M_ERR("vmbatch user del", "missing USER");
        M_ERR("vmbatch user list extra", "unexpected argument 'extra'");
        M_ERR("vmbatch group add studs --id ten", "invalid number 'ten' for --id");
        M_ERR("vmbatch group mod studs", "missing --name");
        M_ERR("vmbatch vmgroup add lab1", "missing --iprange");
        M_ERR("vmbatch vmgroup add lab1 --iprange 1.2.3.4-1.2.3", "invalid IP range '1.2.3.4-1.2.3' for --iprange (expected A.B.C.D-E.F.G.H)");
        M_ERR("vmbatch vmgroup mod lab1", "nothing to change (give --name or --iprange)");
        M_ERR("vmbatch vm add v", "give exactly one of --disc, --usediscs or --base");
        M_ERR("vmbatch vm add v --disc 5G --usediscs /a", "give exactly one of --disc, --usediscs or --base");
        M_ERR("vmbatch vm add v --disc 5Z", "invalid size '5Z' for --disc (use e.g. 512M, 5G)");
        M_ERR("vmbatch vm add v --disc 5G --mem 2g3", "invalid size '2g3' for --mem (use e.g. 512M, 5G)");
        M_ERR("vmbatch vm add v --disc 5G --vcpus -1", "invalid number '-1' for --vcpus (must be at least 1)");
        M_ERR("vmbatch vm add v --disc 5G --cmdline ro", "--initrd and --cmdline need --kernel");
        M_ERR("vmbatch vm add v --base b --derivable", "a VM derived with --base cannot be --derivable");
        M_ERR("vmbatch vm add v --disc 5G --isolate", "unknown option '--isolate'");
        M_ERR("vmbatch vm add v --disc 99999999999T", "invalid size '99999999999T' for --disc (use e.g. 512M, 5G)");
        M_ERR("vmbatch vm mod v", "nothing to change");
        M_ERR("vmbatch vm mod v --derivable --no-derivable", "--derivable and --no-derivable contradict each other");
        M_ERR("vmbatch vm run", "missing VM");
        M_ERR("vmbatch vm suspend myvm --force", "unknown option '--force'");
        M_ERR("vmbatch vm run v --install", "--install needs --cdrom ISO");
        M_ERR("vmbatch vm run v --mem", "option '--mem' requires a value");
        M_ERR("vmbatch vm run v --isolate=1", "option '--isolate' does not take a value");
        M_ERR("vmbatch vm stop", "give either VM or --instance N");
        M_ERR("vmbatch vm stop v --instance 3", "give either VM or --instance N");
        M_ERR("vmbatch instance release", "missing INSTANCE");
        M_ERR("vmbatch instance release x7", "invalid number 'x7' for INSTANCE");
        M_ERR("vmbatch perm set --group studs --vm v", "missing PERMISSIONS (e.g. +r,+d,-i)");
        M_ERR("vmbatch perm set --group studs --vm v +q",
              "invalid permission '+q' in '+q' (letters are r=run, m=modify, d=derive, i=force_isolated)");
        M_ERR("vmbatch perm set --group studs +d", "give exactly one of --vm or --vmgroup");
        M_ERR("vmbatch perm set --user a --group studs --vm v +d", "give exactly one of --user or --group");
        M_ERR("vmbatch perm del --vm v", "give exactly one of --user or --group");
        M_ERR("vmbatch audit list --limit none", "invalid number 'none' for --limit (must be at least 1)");
        M_ERR("vmbatch init extra", "unexpected argument 'extra'");
        check_err(cli_modern_to_request, NULL, "vmbatch vm run v --install --cdrom x.iso",
                  "cannot make path 'x.iso' for --cdrom absolute");
}

static void test_units(void) {
        tap_diag("helpers");
        struct {
                const char *in, *cwd, *want;
        } paths[] = {
                {"/a/b", NULL, "/a/b"},         {"a", "/x", "/x/a"},        {"./a/./b/", "/x", "/x/a/b"},
                {"../../../a", "/x/y", "/a"},   {"/", NULL, "/"},           {"..", "/", "/"},
                {"a//b", "/x/", "/x/a/b"},      {".", "/x/y", "/x/y"},      {"/a/b/..", NULL, "/a"},
        };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                char *out = NULL;
                int r = cli_path_absolute(paths[i].in, paths[i].cwd, &out);
                is_int(r, 0, "path %s in %s", paths[i].in, paths[i].cwd ? paths[i].cwd : "(none)");
                is_str(out, paths[i].want, "path %s -> %s", paths[i].in, paths[i].want);
                free(out);
        }
        char *out = NULL;
        is_int(cli_path_absolute("a", NULL, &out), -EINVAL, "relative path without cwd");
        is_int(cli_path_absolute("a", "rel", &out), -EINVAL, "relative cwd refused");
        is_int(cli_path_absolute("", "/", &out), -EINVAL, "empty path refused");

        Error err = {0};
        is_int(cli_check_iprange("192.168.0.1-192.168.0.254", "x", &err), 0, "iprange ok");
        is_int(cli_check_iprange("192.168.0.1", "x", &err), -EINVAL, "iprange without dash");
        error_clear(&err);
        is_int(cli_check_iprange("::1-::2", "x", &err), -EINVAL, "iprange IPv6 refused");

        json_t *o = json_object();
        error_clear(&err);
        is_int(cli_perm_spec(o, "+r,+m,-d,+i,", &err), 0, "perm spec with trailing comma");
        ok(json_is_true(json_object_get(o, "run")) && json_is_true(json_object_get(o, "modify")) &&
                   json_is_false(json_object_get(o, "derive")) && json_is_true(json_object_get(o, "force_isolated")),
           "perm spec values");
        json_decref(o);
}

int main(void) {
        test_paper_section_5_1();
        test_paper_more();
        test_paper_errors();
        test_modern();
        test_modern_errors();
        test_units();
        return tap_done();
}
