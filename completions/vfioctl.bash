# bash completion for vfioctl(8)                          -*- shell-script -*-
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Driven by data, so that a new command or option needs no edit here:
#  - commands, options and which options take an argument come from the
#    binary's own `vfioctl --help` and `vfioctl CMD --help`;
#  - what an argument is comes from its name in that help (DIR, LIST, DRIVER,
#    PID; BDF and GROUP in the usage line);
#  - column names come from `vfioctl CMD --list-columns -r -n`;
#  - devices, groups, drivers and processes are read from sysfs and /proc,
#    below the --sysroot directory when the line already has one.
# Global options go before the command: the binary rejects them after it.
#
# Candidates are filtered by _vfioctl_add, never by `compgen -W`, which
# would expand $(...) in a directory name found below an untrusted --sysroot.

# The binary to ask: the one on the command line, or, since vfioctl lives in
# sbin, one of the sbin directories an ordinary user's PATH may lack.
_vfioctl_prog()
{
    local p=$1 d
    # shellcheck disable=SC2088 # a literal ~ typed on the line
    [[ $p == "~" || $p == "~/"* ]] && p=$HOME${p:1}
    if [[ $p == */* ]]; then
        [[ -x $p ]] && REPLY=$p
        return
    fi
    REPLY=$(type -P -- "$p") && return
    for d in /usr/sbin /sbin /usr/local/sbin; do
        [[ -x $d/$p ]] && REPLY=$d/$p && return
    done
    return 1
}

# Adds to COMPREPLY each word that begins with $cur.
_vfioctl_add()
{
    local w
    for w; do
        [[ $w == "$cur"* ]] && COMPREPLY+=("$w")
    done
    return 0
}

# A word as typed on the line (quotes, backslashes, ~) to the string it means.
_vfioctl_dequote()
{
    local v=$1
    case $v in
    \'*\') v=${v:1:${#v}-2} ;;
    \"*\") v=${v:1:${#v}-2} ;;
    *) v=${v//\\/} ;;
    esac
    # shellcheck disable=SC2088 # a literal ~ typed on the line
    [[ $v == "~" || $v == "~/"* ]] && v=$HOME${v:1}
    REPLY=$v
}

# Parses one --help text into the caller's variables:
#   opts     every option, long and short
#   optarg   option -> the name of its argument (DIR, LIST, ...), if it takes one;
#            an optional part after it ("USER[:GROUP]") is not part of the name
#   cmds     the names under "Commands:"
#   usage    what follows "[options]" on the usage line (positional arguments)
_vfioctl_parse_help()
{
    local line section='' re_opt='^ +(-([A-Za-z0-9]), )?(--[a-z][a-z0-9-]*)( ([A-Z][A-Z0-9_]*)(\[[^]]*\])?)?( |$)'
    local re_cmd='^ ([a-z][a-z0-9-]*)  +[^ ]'
    while IFS= read -r line; do
        case $line in
        Usage:*) section=usage; continue ;;
        Commands:*) section=commands; continue ;;
        Options:*) section=options; continue ;;
        "") [[ $section == options ]] || section= ; continue ;;
        esac
        case $section in
        usage)
            [[ $line == *"[options]"* ]] && usage=${line#*"[options]"}
            ;;
        commands)
            [[ $line =~ $re_cmd ]] && cmds+=("${BASH_REMATCH[1]}")
            ;;
        options)
            [[ $line =~ $re_opt ]] || continue
            opts+=("${BASH_REMATCH[3]}")
            [[ -n ${BASH_REMATCH[2]} ]] && opts+=("-${BASH_REMATCH[2]}")
            if [[ -n ${BASH_REMATCH[5]} ]]; then
                optarg[${BASH_REMATCH[3]}]=${BASH_REMATCH[5]}
                [[ -n ${BASH_REMATCH[2]} ]] && optarg[-${BASH_REMATCH[2]}]=${BASH_REMATCH[5]}
            fi
            ;;
        esac
    done
}

# Column names for -o: a comma-separated list, optionally after a "+".
# Names already in the list are not offered again; case does not matter.
_vfioctl_columns()
{
    local prog=$1 cmd=$2 typed=${cur##*,} head c
    head=${cur%"$typed"}
    if [[ -z $head && $typed == +* ]]; then
        head=+
        typed=${typed#+}
    fi
    local chosen=",${head#+},"
    while read -r c _; do
        [[ -n $c ]] || continue
        [[ ${chosen^^} == *",${c^^},"* ]] && continue
        [[ ${c^^} == "${typed^^}"* ]] && COMPREPLY+=("$head$c")
    done < <(LC_ALL=C "$prog" "$cmd" --list-columns -r -n 2>/dev/null)
    compopt -o nospace
}

# The names of the entries of a directory that match a glob, in REPLY.
_vfioctl_entries()
{
    local dir=$1 glob=$2 e
    REPLY=()
    [[ -d $dir ]] || return
    for e in "$dir"/$glob; do
        [[ -e $e ]] && REPLY+=("${e##*/}")
    done
}

# PCI addresses, in full and, once the word looks like BB:, in the short
# domain-0000 form the binary also accepts. Addresses already on the line
# are left out.
_vfioctl_bdfs()
{
    local root=$1 b seen=" ${words[*]} "
    local -a cand=() REPLY
    _vfioctl_entries "$root/sys/bus/pci/devices" '[0-9a-fA-F]*:*'
    for b in "${REPLY[@]}"; do
        [[ $seen == *" $b "* || $seen == *" ${b#0000:} "* ]] && continue
        cand+=("$b")
        [[ $cur == [0-9a-fA-F][0-9a-fA-F]:* && $b == 0000:* ]] && cand+=("${b#0000:}")
    done
    _vfioctl_add "${cand[@]}"
}

_vfioctl_groups()
{
    local -a REPLY
    _vfioctl_entries "$1/sys/kernel/iommu_groups" '[0-9]*'
    _vfioctl_add "${REPLY[@]}"
}

# map --backing: the memory sources, and a path after file:.
_vfioctl_backing()
{
    if [[ $cur == file:* ]]; then
        local f
        while IFS= read -r f; do
            COMPREPLY+=("file:$f")
        done < <(compgen -f -- "${cur#file:}")
        compopt -o nospace
        return
    fi
    _vfioctl_add auto anon thp hugetlb hugetlb:2M hugetlb:1G memfd memfd:hugetlb \
        memfd:hugetlb:2M memfd:hugetlb:1G file:
    [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == file: ]] && compopt -o nospace
    return 0
}

# The argument of an option, by the option or by the name of its argument.
_vfioctl_optarg()
{
    local prog=$1 cmd=$2 opt=$3 arg=$4 root=$5
    local -a REPLY
    case $opt in
    # the global one takes auto too; memlock --estimate's does not
    --backend) [[ -z $cmd ]] && _vfioctl_add auto; _vfioctl_add type1 iommufd; return ;;
    --user | --as-user) mapfile -t COMPREPLY < <(compgen -u -- "$cur"); return ;;
    --backing) _vfioctl_backing; return ;;
    --mode) _vfioctl_add pin no-pin iopf; return ;;
    --populate) _vfioctl_add none; return ;;
    --iova | --bar-iova) _vfioctl_add auto; return ;;
    --owner)
        # USER, or USER:GROUP once the colon is typed
        if [[ $cur == *:* ]]; then
            mapfile -t COMPREPLY < <(compgen -g -P "${cur%%:*}:" -- "${cur#*:}")
        else
            mapfile -t COMPREPLY < <(compgen -u -- "$cur")
        fi
        return
        ;;
    --timeout) return ;;
    esac
    case $arg in
    BDF) _vfioctl_bdfs "$root" ;;
    DIR) _filedir -d ;;
    FILE) _filedir ;;
    LIST) _vfioctl_columns "$prog" "$cmd" ;;
    DRIVER)
        _vfioctl_entries "$root/sys/bus/pci/drivers" '*'
        _vfioctl_add none "${REPLY[@]}"
        ;;
    PID)
        _vfioctl_entries "$root/proc" '[1-9]*'
        _vfioctl_add "${REPLY[@]}"
        ;;
    esac
}

_vfioctl()
{
    # shellcheck disable=SC2034 # split is set by _init_completion -s
    local cur prev words cword split
    _init_completion -s -n : || return

    local REPLY prog
    _vfioctl_prog "${words[0]}" || return
    prog=$REPLY

    local -a opts=() cmds=()
    local -A optarg=()
    local usage=
    _vfioctl_parse_help < <(LC_ALL=C "$prog" --help 2>/dev/null)
    # `vfioctl help CMD` works, though --help does not list it as a command
    cmds+=(help)

    # The command is the first word that is neither a global option nor the
    # argument of one; --sysroot's argument is kept for the sysfs look-ups.
    local i w cmd='' cmdi=0 root=''
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        case $w in
        --sysroot=*) _vfioctl_dequote "${w#*=}"; root=$REPLY ;;
        -*)
            [[ -n ${optarg[$w]-} ]] || continue
            ((i++))
            [[ $w == --sysroot && $i -lt $cword ]] &&
                _vfioctl_dequote "${words[i]}" && root=$REPLY
            ;;
        *) cmd=$w cmdi=$i; break ;;
        esac
    done
    root=${root%/}

    if [[ -z $cmd ]]; then
        if [[ $prev == -* && -n ${optarg[$prev]-} ]]; then
            _vfioctl_optarg "$prog" "" "$prev" "${optarg[$prev]}" "$root"
        elif [[ $cur == -* ]]; then
            _vfioctl_add "${opts[@]}"
        else
            _vfioctl_add "${cmds[@]}"
        fi
        return
    fi

    if [[ $cmd == help ]]; then
        ((cword == cmdi + 1)) && _vfioctl_add "${cmds[@]}"
        return
    fi

    opts=() optarg=() usage=
    _vfioctl_parse_help < <(LC_ALL=C "$prog" "$cmd" --help 2>/dev/null)
    ((${#opts[@]})) || return # not a command this binary knows

    if [[ $prev == -* && -n ${optarg[$prev]-} ]]; then
        _vfioctl_optarg "$prog" "$cmd" "$prev" "${optarg[$prev]}" "$root"
        __ltrim_colon_completions "$cur"
        return
    fi
    if [[ $cur == -* ]]; then
        _vfioctl_add "${opts[@]}"
        return
    fi
    # Lower-case words in the usage line are actions (persist list|remove|apply):
    # the first word after the command is one; what follows it in the usage
    # line is what it takes.
    local -a actions=()
    local t have=''
    for t in ${usage//[][|.]/ }; do
        [[ $t == [a-z]* ]] && actions+=("$t")
    done
    if ((${#actions[@]})); then
        for ((i = cmdi + 1; i < cword; i++)); do
            [[ ${words[i]} == -* ]] || { have=${words[i]}; break; }
        done
        if [[ -z $have ]]; then
            _vfioctl_add "${actions[@]}"
            return
        fi
        [[ $usage == *"$have BDF"* ]] || return
        usage=BDF
    fi
    [[ $usage == *GROUP* ]] && _vfioctl_groups "$root"
    [[ $usage == *BDF* ]] && _vfioctl_bdfs "$root"
    __ltrim_colon_completions "$cur"
} &&
    complete -F _vfioctl vfioctl

# ex: filetype=sh
