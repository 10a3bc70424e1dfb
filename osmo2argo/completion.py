"""Shell completion scripts (`osmo2argo completion bash|zsh|fish`), generated from the argparse parser.

Everything a script knows comes from `cli.build_parser()`: the commands and their one-line help,
each command's options, the choices of choice options and of choice arguments, and which options
and arguments name files (their argparse type is `cli.file_path` or `cli.output_path`), so the
scripts cannot drift from the parser. A script is static: it completes without running
osmo2argo, and a new version of osmo2argo needs the script generated again.
"""

from __future__ import annotations

import argparse
import dataclasses
import re

from .cli import PROG, Parser, expand_help, file_path, output_path, short_help

FUNCTION = "_osmo2argo_completion"  # the name click's scripts used, so shell set-ups that name it keep working
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*|-{1,2}[A-Za-z0-9][A-Za-z0-9-]*")


@dataclasses.dataclass(frozen=True)
class Option:
    """One option of a command, as completion needs it."""

    flags: tuple[str, ...]
    help: str
    takes_value: bool
    choices: tuple[str, ...]
    files: bool
    repeatable: bool
    metavar: str


@dataclasses.dataclass(frozen=True)
class Command:
    """A command: its options and what its positional arguments complete to."""

    name: str
    help: str
    options: tuple[Option, ...]
    arguments: tuple[Option, ...]


def _option(action: argparse.Action) -> Option:
    choices = tuple(str(choice) for choice in action.choices or ())
    for word in (*action.option_strings, *choices):
        if not _WORD.fullmatch(word):
            raise ValueError(f"{word!r} is not safe to put in a completion script unquoted")
    name = action.option_strings[-1].lstrip("-") if action.option_strings else action.dest
    metavar = action.metavar if isinstance(action.metavar, str) else name
    return Option(
        flags=tuple(action.option_strings),
        help=" ".join(expand_help(action).split()),
        takes_value=action.nargs != 0,
        choices=choices,
        files=action.type in (file_path, output_path),
        repeatable=action.nargs in ("*", "+") or isinstance(action.default, list),  # FILES...; the append options
        metavar=metavar,
    )


def describe(parser: Parser) -> tuple[tuple[Option, ...], tuple[Command, ...]]:
    """The top-level options and the commands of the parser."""
    top = tuple(_option(action) for action in parser.actions if action.option_strings)
    commands = []
    for name, command in sorted(parser.commands.items()):
        if not _WORD.fullmatch(name):
            raise ValueError(f"{name!r} is not safe to put in a completion script unquoted")
        actions = command.actions
        commands.append(
            Command(
                name=name,
                help=short_help(command),
                options=tuple(_option(action) for action in actions if action.option_strings),
                arguments=tuple(_option(action) for action in actions if not action.option_strings),
            )
        )
    return top, tuple(commands)


def script(parser: Parser, shell: str) -> str:
    """The completion script for `shell` (bash, zsh or fish)."""
    top, commands = describe(parser)
    render = {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell]
    return render(top, commands)


# -- bash ---------------------------------------------------------------------------------------------


def _bash(top: tuple[Option, ...], commands: tuple[Command, ...]) -> str:
    def words(options: tuple[Option, ...]) -> str:
        return " ".join(flag for option in options for flag in option.flags)

    cases = []
    for command in commands:
        values = []
        for option in command.options:
            if not option.takes_value:
                continue
            pattern = "|".join(option.flags)
            if option.choices:
                values.append(
                    f'{pattern}) COMPREPLY=($(compgen -W "{" ".join(option.choices)}" -- "$cur")); return 0 ;;'
                )
            elif option.files:
                values.append(f"{pattern}) _osmo2argo_files; return 0 ;;")
            else:
                values.append(f"{pattern}) return 0 ;;  # free text")
        value_case = ""
        if values:
            value_case = (
                '        if [[ -z "$only_files" ]]; then\n'
                '            case "$prev" in\n'
                + "".join(f"            {line}\n" for line in values)
                + "            esac\n"
                "        fi\n"
            )
        argument = ":"  # no positional arguments
        for positional in command.arguments:
            if positional.choices:
                argument = f'COMPREPLY=($(compgen -W "{" ".join(positional.choices)}" -- "$cur"))'
            elif positional.files:
                argument = "_osmo2argo_files"
        cases.append(
            f"    {command.name})\n"
            f"{value_case}"
            '        if [[ "$cur" == -* && -z "$only_files" ]]; then\n'
            f'            COMPREPLY=($(compgen -W "{words(command.options)}" -- "$cur"))\n'
            "        else\n"
            f"            {argument}\n"
            "        fi\n"
            "        ;;"
        )
    names = " ".join(command.name for command in commands)
    return f"""\
# bash completion for {PROG}, generated by `{PROG} completion bash`.
# Load it from ~/.bashrc:  eval "$({PROG} completion bash)"

_osmo2argo_files() {{
    local IFS=$'\\n'
    COMPREPLY=($(compgen -f -- "$cur"))
    compopt -o filenames 2>/dev/null
    return 0
}}

{FUNCTION}() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="" command="" only_files="" i
    if (( COMP_CWORD > 0 )); then prev="${{COMP_WORDS[COMP_CWORD-1]}}"; fi
    # --option=value: bash splits the word at "=".
    if [[ "$cur" == "=" && "$prev" == -* ]]; then
        cur=""
    elif [[ "$prev" == "=" ]] && (( COMP_CWORD > 1 )); then
        prev="${{COMP_WORDS[COMP_CWORD-2]}}"
    fi
    for (( i = 1; i < COMP_CWORD; i++ )); do
        if [[ -z "$command" ]]; then
            [[ "${{COMP_WORDS[i]}}" != -* ]] && command="${{COMP_WORDS[i]}}"
        elif [[ "${{COMP_WORDS[i]}}" == "--" ]]; then
            only_files=1
        fi
    done
    COMPREPLY=()
    case "$command" in
    "")
        if [[ "$cur" == -* ]]; then
            COMPREPLY=($(compgen -W "{words(top)}" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "{names}" -- "$cur"))
        fi
        ;;
{chr(10).join(cases)}
    esac
    return 0
}}

complete -F {FUNCTION} {PROG}
"""


# -- zsh ----------------------------------------------------------------------------------------------


def _quote(text: str) -> str:
    """A single-quoted shell word (zsh, bash)."""
    return "'" + text.replace("'", "'\\''") + "'"


def _zsh_spec(option: Option) -> list[str]:
    description = option.help.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    exclusive = f"({' '.join(option.flags)})" if len(option.flags) > 1 else ""
    repeat = "*" if option.repeatable else ""
    if option.choices:
        action = f"({' '.join(option.choices)})"
    elif option.files:
        action = "_files"
    else:
        action = " "
    specs = []
    for flag in option.flags:
        if not option.takes_value:
            specs.append(f"{exclusive}{repeat}{flag}[{description}]")
            continue
        form = "=" if flag.startswith("--") else "+"  # --opt=value or --opt value; -ovalue or -o value
        message = option.metavar.replace(":", "\\:")
        specs.append(f"{exclusive}{repeat}{flag}{form}[{description}]:{message}:{action}")
    return specs


def _zsh_argument(argument: Option) -> str:
    message = argument.metavar.replace(":", "\\:")
    if argument.choices:
        action = f"({' '.join(argument.choices)})"
    elif argument.files:
        action = "_files"
    else:
        action = " "
    return f"{'*' if argument.repeatable else ''}:{message}:{action}"


def _zsh(top: tuple[Option, ...], commands: tuple[Command, ...]) -> str:
    def arguments(specs: list[str], indent: str) -> str:
        return f" \\\n{indent}".join(_quote(spec) for spec in specs)

    listed = "\n".join(f"        {_quote(command.name + ':' + command.help)}" for command in commands)
    top_specs = [spec for option in top for spec in _zsh_spec(option)]
    cases = []
    for command in commands:
        specs = [spec for option in command.options for spec in _zsh_spec(option)]
        specs += [_zsh_argument(argument) for argument in command.arguments]
        cases.append(
            f"        {command.name})\n"
            f"            _arguments -s \\\n                {arguments(specs, '                ')}\n"
            "            ;;"
        )
    return f"""\
#compdef {PROG}
# zsh completion for {PROG}, generated by `{PROG} completion zsh`.
# Load it from ~/.zshrc (after compinit):  eval "$({PROG} completion zsh)"
# or save it as _{PROG} in a directory of $fpath.

{FUNCTION}() {{
    local curcontext="$curcontext" state line
    typeset -A opt_args
    local -a commands
    commands=(
{listed}
    )
    _arguments -C \\
        {arguments(top_specs, "        ")} \\
        '1: :->command' \\
        '*:: :->argument'
    case $state in
    command)
        _describe -t commands '{PROG} command' commands
        ;;
    argument)
        case $words[1] in
{chr(10).join(cases)}
        esac
        ;;
    esac
}}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    {FUNCTION} "$@"
else
    compdef {FUNCTION} {PROG}
fi
"""


# -- fish ---------------------------------------------------------------------------------------------


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_option(condition: str, option: Option) -> str:
    parts = [f"complete -c {PROG} -n {_fish_quote(condition)}"]
    for flag in option.flags:
        parts.append(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}")
    if option.takes_value:
        if option.choices:
            parts.append(f"-x -a {_fish_quote(' '.join(option.choices))}")
        elif option.files:
            parts.append("-r -F")
        else:
            parts.append("-x")
    if option.help:
        parts.append(f"-d {_fish_quote(option.help)}")
    return " ".join(parts)


def _fish(top: tuple[Option, ...], commands: tuple[Command, ...]) -> str:
    lines = [
        f"# fish completion for {PROG}, generated by `{PROG} completion fish`.",
        f"# Save it:  {PROG} completion fish > ~/.config/fish/completions/{PROG}.fish",
        "",
        f"complete -c {PROG} -e",
        f"complete -c {PROG} -f",
    ]
    lines += [_fish_option("__fish_use_subcommand", option) for option in top]
    lines += [
        f"complete -c {PROG} -n __fish_use_subcommand -a {command.name} -d {_fish_quote(command.help)}"
        for command in commands
    ]
    for command in commands:
        condition = f"__fish_seen_subcommand_from {command.name}"
        lines += [_fish_option(condition, option) for option in command.options]
        for argument in command.arguments:
            if argument.choices:
                lines.append(
                    f"complete -c {PROG} -n {_fish_quote(condition)} -a {_fish_quote(' '.join(argument.choices))}"
                )
            elif argument.files:
                lines.append(f"complete -c {PROG} -n {_fish_quote(condition)} -F")
    return "\n".join(lines) + "\n"
