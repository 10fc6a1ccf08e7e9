/* cmd_vm.c - "vmbatch vm add|mod|del|list|show|run|stop|suspend|resume" */
#include "cli/cli.h"

static int vm_add(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r;
        if ((r = cli_put_name(args, "name", a->pos[0], "NAME", err)) < 0 ||
            (r = cli_put_ref(args, "vmgroup", cli_args_value(a, "vmgroup"), "--vmgroup", err)) < 0)
                return r;
        return cli_put_vm_add_options(a, cwd, "disc", args, err);
}

static int vm_mod(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        bool der = cli_args_flag(a, "derivable"), noder = cli_args_flag(a, "no-derivable");
        int r;

        if (der && noder)
                return error_set(err, -EINVAL, "--derivable and --no-derivable contradict each other");
        if ((r = cli_put_ref(args, "vm", a->pos[0], "VM", err)) < 0 ||
            (r = cli_put_name(args, "name", cli_args_value(a, "name"), "--name", err)) < 0)
                return r;
        return cli_put_vm_mod_options(a, cwd, der || noder, der, "vmgroup", args, err);
}

static int vm_del(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r = cli_put_ref(args, "vm", a->pos[0], "VM", err);
        if (r < 0)
                return r;
        cli_put_bool(args, "keep_discs", cli_args_flag(a, "keep-discs"), true);
        return 0;
}

static int vm_ref(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return cli_put_ref(args, "vm", a->pos[0], "VM", err);
}

static int vm_run(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r = cli_put_ref(args, "vm", a->pos[0], "VM", err);
        return r < 0 ? r : cli_put_run_options(a, cwd, "no-start", args, err);
}

static int vm_stop(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r = cli_put_vm_or_instance(a, args, err);
        if (r >= 0)
                cli_put_bool(args, "force", cli_args_flag(a, "force"), true);
        return r;
}

static const CliOpt add_opts[] = {
        {"vmgroup", CLI_OPT_VALUE},
        {"disc", CLI_OPT_VALUE | CLI_OPT_MULTI},
        {"usediscs", CLI_OPT_VALUE | CLI_OPT_MULTI},
        {"base", CLI_OPT_VALUE},
        {"mem", CLI_OPT_VALUE},
        {"vcpus", CLI_OPT_VALUE},
        {"derivable", CLI_OPT_FLAG},
        {"desc", CLI_OPT_VALUE},
        {"kernel", CLI_OPT_VALUE},
        {"initrd", CLI_OPT_VALUE},
        {"cmdline", CLI_OPT_VALUE},
        {},
};

static const CliOpt mod_opts[] = {
        {"name", CLI_OPT_VALUE},
        {"mem", CLI_OPT_VALUE},
        {"vcpus", CLI_OPT_VALUE},
        {"derivable", CLI_OPT_FLAG},
        {"no-derivable", CLI_OPT_FLAG},
        {"desc", CLI_OPT_VALUE},
        {"vmgroup", CLI_OPT_VALUE},
        {"kernel", CLI_OPT_VALUE},
        {"initrd", CLI_OPT_VALUE},
        {"cmdline", CLI_OPT_VALUE},
        {},
};

static const CliOpt del_opts[] = {
        {"keep-discs", CLI_OPT_FLAG},
        {},
};

static const CliOpt run_opts[] = {
        {"mem", CLI_OPT_VALUE},
        {"vcpus", CLI_OPT_VALUE},
        {"isolate", CLI_OPT_FLAG},
        {"install", CLI_OPT_FLAG},
        {"cdrom", CLI_OPT_VALUE},
        {"no-start", CLI_OPT_FLAG},
        {"walltime", CLI_OPT_VALUE},
        {"host", CLI_OPT_VALUE},
        {"no-wait", CLI_OPT_FLAG},
        {},
};

static const CliOpt stop_opts[] = {
        {"instance", CLI_OPT_VALUE},
        {},
};

static const CliOpt stop_force_opts[] = {
        {"instance", CLI_OPT_VALUE},
        {"force", CLI_OPT_FLAG},
        {},
};

const CliVerb cli_vm_verbs[] = {
        {
                .name = "add",
                .op = "vm.add",
                .usage = "NAME [--vmgroup G] (--disc SIZE [--disc SIZE]... | --usediscs A,B | --base VM)\n"
                         "       [--mem SIZE] [--vcpus N] [--derivable] [--desc TEXT]\n"
                         "       [--kernel PATH --initrd PATH --cmdline TEXT]",
                .help = "Define a VM. Its discs are new empty ones, copies of existing images, or\n"
                        "copy-on-write overlays of a derivable VM's discs.\n"
                        "  --vmgroup G       VM group (name or id; default 1, all_vms)\n"
                        "  --disc SIZE       a new empty disc, e.g. 5G (repeat, or 5G,1G)\n"
                        "  --usediscs A,B    copy these disc images (paths)\n"
                        "  --base VM         derive from a derivable VM (differential discs)\n"
                        "  --mem SIZE        memory, e.g. 2G (default 512M)\n"
                        "  --vcpus N         virtual CPUs (default 1)\n"
                        "  --derivable       others may derive from this VM (make it a template)\n"
                        "  --desc TEXT       a description\n"
                        "  --kernel PATH     boot this kernel directly (with --initrd, --cmdline)\n",
                .pos_name = "NAME",
                .min_pos = 1,
                .max_pos = 1,
                .opts = add_opts,
                .build = vm_add,
                .print = cli_print_added_vm,
        },
        {
                .name = "mod",
                .op = "vm.mod",
                .usage = "VM [--name NEW] [--mem SIZE] [--vcpus N] [--derivable | --no-derivable]\n"
                         "       [--desc TEXT] [--vmgroup G] [--kernel PATH] [--initrd PATH] [--cmdline TEXT]",
                .help = "Change a VM (needs the modify right; --vmgroup is admin only).\n",
                .pos_name = "VM",
                .min_pos = 1,
                .max_pos = 1,
                .opts = mod_opts,
                .build = vm_mod,
        },
        {
                .name = "del",
                .op = "vm.del",
                .usage = "VM [--keep-discs]",
                .help = "Remove a VM (owner or admin; refused while it is a base or running).\n"
                        "  --keep-discs   leave the disc files in place\n",
                .pos_name = "VM",
                .min_pos = 1,
                .max_pos = 1,
                .opts = del_opts,
                .build = vm_del,
        },
        {
                .name = "list",
                .op = "vm.list",
                .usage = "[--json]",
                .help = "List the VMs you own or hold a grant on (admins: all).\n",
                .opts = cli_no_opts,
                .build = cli_build_nothing,
                .print = cli_print_vms,
        },
        {
                .name = "show",
                .op = "vm.show",
                .usage = "VM [--json]",
                .help = "Show one VM in detail.\n",
                .pos_name = "VM",
                .min_pos = 1,
                .max_pos = 1,
                .opts = cli_no_opts,
                .build = vm_ref,
                .print = cli_print_vm,
        },
        {
                .name = "run",
                .op = "vm.run",
                .usage = "VM [--mem SIZE] [--vcpus N] [--isolate] [--install --cdrom ISO] [--no-start]",
                .help = "Start an instance of a VM as a batch job (needs the run right).\n"
                        "  --mem SIZE     memory for this run\n"
                        "  --vcpus N      virtual CPUs for this run\n"
                        "  --isolate      filter the instance's traffic (required when the VM is\n"
                        "                 force_isolated for you)\n"
                        "  --install      boot from --cdrom ISO to install an operating system\n"
                        "  --cdrom ISO    attach this ISO image\n"
                        "  --no-start     only reserve an IP and MAC (release with 'instance release')\n"
                        "  --walltime T   the job's time limit (90m, 2h; the scheduler ends the vm then)\n"
                        "  --host NAME    run on this execution host only\n"
                        "  --no-wait      return once the job is submitted (default: wait until the vm\n"
                        "                 runs, at most VMBATCH_RUN_WAIT seconds, 120)\n",
                .pos_name = "VM",
                .min_pos = 1,
                .max_pos = 1,
                .opts = run_opts,
                .build = vm_run,
                .print = cli_print_run,
        },
        {
                .name = "stop",
                .op = "instance.stop",
                .usage = "VM | --instance N [--force]",
                .help = "Stop a running instance, named by its VM or by its instance id: the guest\n"
                        "gets the ACPI power button (pressed again every 2 s) and 30 s to power off.\n"
                        "  --force        kill qemu at once (a guest still booting ignores the button)\n",
                .min_pos = 0,
                .max_pos = 1,
                .opts = stop_force_opts,
                .build = vm_stop,
                .print = cli_print_stopped,
        },
        {
                .name = "suspend",
                .op = "instance.suspend",
                .usage = "VM | --instance N",
                .help = "Pause a running instance's virtual CPUs (QMP stop); its memory stays allocated.\n",
                .min_pos = 0,
                .max_pos = 1,
                .opts = stop_opts,
                .build = vm_stop,
                .print = cli_print_stopped,
        },
        {
                .name = "resume",
                .op = "instance.resume",
                .usage = "VM | --instance N",
                .help = "Let a suspended instance run again (QMP cont).\n",
                .min_pos = 0,
                .max_pos = 1,
                .opts = stop_opts,
                .build = vm_stop,
                .print = cli_print_stopped,
        },
        {},
};
