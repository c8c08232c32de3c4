package main

// Shell completions for bash, zsh and fish, written from the kong model.

import (
	"fmt"
	"strings"

	"github.com/alecthomas/kong"
)

const completionHeader = "%s completion for signstar(1), generated from the command line model by 'just generate shell_completions'; do not edit.\n"

// bashCompletion writes a completion function for bash. It needs nothing
// from the bash-completion package, but uses its _filedir when loaded.
func bashCompletion(app *kong.Application) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# "+completionHeader, "bash")
	b.WriteString("\n# _signstar_commands PATH: the subcommands of command PATH (\"\" or \"key\").\n")
	b.WriteString("_signstar_commands() {\n\tcase $1 in\n")
	for _, n := range commands(app) {
		if subs := subcommands(n); len(subs) > 0 {
			fmt.Fprintf(&b, "\t%s) echo %s ;;\n", shQuote(strings.Join(cmdPath(n), " ")), shQuote(strings.Join(names(subs), " ")))
		}
	}
	b.WriteString("\tesac\n}\n")
	b.WriteString("\n# _signstar_flags PATH: the flags valid after command PATH, its parents' included.\n")
	b.WriteString("_signstar_flags() {\n\tcase $1 in\n")
	for _, n := range commands(app) {
		var flags []string
		for _, f := range inheritedFlags(n) {
			flags = append(flags, flagNames(f)...)
		}
		fmt.Fprintf(&b, "\t%s) echo %s ;;\n", shQuote(strings.Join(cmdPath(n), " ")), shQuote(strings.Join(flags, " ")))
	}
	b.WriteString("\tesac\n}\n")
	bashValues(&b, app)
	bashArgs(&b, app)
	b.WriteString(bashMain)
	return []byte(b.String())
}

// bashValues writes _signstar_value PATH FLAG, which prints what FLAG's
// value is after command PATH (file, dir, any, or "enum WORD...") and
// fails for a flag that takes none. A command's flags are valid after its
// subcommands too.
func bashValues(b *strings.Builder, app *kong.Application) {
	b.WriteString("\n# _signstar_value PATH FLAG: the kind of FLAG's value; fails if FLAG takes none.\n")
	b.WriteString("_signstar_value() {\n\tcase \"$1 $2\" in\n")
	for _, n := range commands(app) {
		path := strings.Join(cmdPath(n), " ")
		for _, f := range n.Flags {
			kind, words := valueKind(f.Value)
			if kind == "" {
				continue
			}
			if kind == "enum" {
				kind += " " + strings.Join(words, " ")
			}
			var pats []string
			for _, name := range flagNames(f) {
				switch {
				case path == "":
					pats = append(pats, "*"+shQuote(" "+name))
				case len(subcommands(n)) > 0:
					pats = append(pats, shQuote(path+" "+name), shQuote(path+" ")+"*"+shQuote(" "+name))
				default:
					pats = append(pats, shQuote(path+" "+name))
				}
			}
			fmt.Fprintf(b, "\t%s) echo %s ;;\n", strings.Join(pats, " | "), shQuote(kind))
		}
	}
	b.WriteString("\t*) return 1 ;;\n\tesac\n}\n")
}

// bashArgs writes _signstar_args PATH, the kind of command PATH's
// positional arguments.
func bashArgs(b *strings.Builder, app *kong.Application) {
	b.WriteString("\n# _signstar_args PATH: the kind of the positional arguments of command PATH.\n")
	b.WriteString("_signstar_args() {\n\tcase $1 in\n")
	for _, n := range commands(app) {
		if len(n.Positional) > 0 {
			kind, words := valueKind(n.Positional[0])
			if kind == "enum" {
				kind += " " + strings.Join(words, " ")
			}
			fmt.Fprintf(b, "\t%s) echo %s ;;\n", shQuote(strings.Join(cmdPath(n), " ")), shQuote(kind))
		}
	}
	b.WriteString("\t*) return 1 ;;\n\tesac\n}\n")
}

const bashMain = `
# _signstar_reply KIND: complete $cur as a value of KIND.
_signstar_reply() {
	case $1 in
	file | dir)
		compopt -o filenames 2>/dev/null
		if [[ -z $prefix ]] && declare -F _filedir >/dev/null; then
			if [[ $1 == dir ]]; then _filedir -d; else _filedir; fi
			return
		fi
		local opt=-f
		[[ $1 == dir ]] && opt=-d
		mapfile -t COMPREPLY < <(compgen "$opt" -- "$cur")
		;;
	enum\ *) mapfile -t COMPREPLY < <(compgen -W "${1#enum }" -- "$cur") ;;
	*) COMPREPLY=() ;;
	esac
	if [[ -n $prefix ]]; then
		COMPREPLY=("${COMPREPLY[@]/#/$prefix}")
	fi
}

_signstar() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev path= prefix= kind w i
	COMPREPLY=()
	# '=' is in COMP_WORDBREAKS: "--type=ed" arrives as "--type" "=" "ed".
	if [[ $cur == = ]]; then
		cur= prev=${COMP_WORDS[COMP_CWORD-1]}
	elif [[ ${COMP_WORDS[COMP_CWORD-1]} == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD-2]}
	elif [[ $cur == -*=* ]]; then
		prev=${cur%%=*} prefix=${cur%%=*}= cur=${cur#*=}
	else
		prev=${COMP_WORDS[COMP_CWORD-1]}
	fi
	# The command words so far, skipping flags and their values.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		=) ((i++)) ;;
		-*=*) ;;
		-*)
			if _signstar_value "$path" "$w" >/dev/null; then
				if [[ ${COMP_WORDS[i+1]} == = ]]; then ((i += 2)); else ((i++)); fi
			fi
			;;
		*)
			if [[ " $(_signstar_commands "$path") " == *" $w "* ]]; then
				path=${path:+$path }$w
			fi
			;;
		esac
	done
	if kind=$(_signstar_value "$path" "$prev"); then
		_signstar_reply "$kind"
	elif [[ -n $prefix ]]; then
		: # --flag=... of a flag that takes no value here
	elif [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_signstar_flags "$path")" -- "$cur")
	elif w=$(_signstar_commands "$path") && [[ -n $w ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$w" -- "$cur")
	elif kind=$(_signstar_args "$path"); then
		_signstar_reply "$kind"
	fi
	return 0
}

complete -F _signstar signstar
`

// zshCompletion writes a #compdef function for zsh: one _arguments per
// command, its parents' flags included.
func zshCompletion(app *kong.Application) []byte {
	var b strings.Builder
	b.WriteString("#compdef signstar\n")
	fmt.Fprintf(&b, "# "+completionHeader, "zsh")
	for _, n := range commands(app) {
		zshFunction(&b, n)
	}
	b.WriteString("\n_signstar \"$@\"\n")
	return []byte(b.String())
}

func zshFunction(b *strings.Builder, n *kong.Node) {
	name := zshName(n)
	subs := subcommands(n)
	fmt.Fprintf(b, "\n%s() {\n", name)
	if len(subs) > 0 {
		b.WriteString("\tlocal curcontext=$curcontext state state_descr line ret=1\n\ttypeset -A opt_args\n")
	}
	b.WriteString("\t_arguments")
	if len(subs) > 0 {
		b.WriteString(" -C")
	}
	for _, p := range lineage(n) {
		for _, f := range p.Flags {
			for _, spec := range zshFlagSpecs(p, f) {
				b.WriteString(" \\\n\t\t" + spec)
			}
		}
	}
	for _, a := range n.Positional {
		spec := "':" + zshMsg(argName(a)) + ":" + zshAction(a) + "'"
		if a.IsCumulative() {
			spec = "'*" + spec[1:]
		}
		b.WriteString(" \\\n\t\t" + spec)
	}
	if len(subs) == 0 {
		b.WriteString("\n}\n")
		return
	}
	b.WriteString(" \\\n\t\t'1:command:" + name + "_commands' \\\n\t\t'*:: :->args' && ret=0\n")
	ctx := strings.Join(append([]string{"signstar"}, cmdPath(n)...), "-")
	b.WriteString("\tcase $state in\n\targs)\n\t\tcurcontext=${curcontext%:*:*}:" + ctx + "-$words[1]:\n\t\tcase $words[1] in\n")
	for _, s := range subs {
		fmt.Fprintf(b, "\t\t%s) %s && ret=0 ;;\n", s.Name, zshName(s))
	}
	b.WriteString("\t\tesac\n\t\t;;\n\tesac\n\treturn ret\n}\n")
	fmt.Fprintf(b, "\n%s_commands() {\n\tlocal -a commands=(\n", name)
	for _, s := range subs {
		fmt.Fprintf(b, "\t\t%s\n", shQuote(s.Name+":"+s.Help))
	}
	fmt.Fprintf(b, "\t)\n\t_describe -t commands %s commands\n}\n", shQuote(strings.TrimSpace("signstar "+strings.Join(cmdPath(n), " "))+" command"))
}

func zshName(n *kong.Node) string {
	return strings.ReplaceAll(strings.Join(append([]string{"_signstar"}, cmdPath(n)...), "_"), "-", "_")
}

// zshFlagSpecs are _arguments specs for f, a flag of command n:
// '(excluded)--name=[help]:VALUE:action'.
func zshFlagSpecs(n *kong.Node, f *kong.Flag) []string {
	names := flagNames(f)
	excl := strings.Join(names, " ")
	for _, g := range n.Flags {
		// kong refuses two flags of one xor group.
		if g != f && sharesXor(f, g) {
			excl += " " + strings.Join(flagNames(g), " ")
		}
	}
	rep := ""
	if f.IsCumulative() {
		rep, excl = "*", ""
	}
	value := ""
	if kind, _ := valueKind(f.Value); kind != "" {
		value = ":" + zshMsg(placeholder(f)) + ":" + zshAction(f.Value)
	}
	var specs []string
	for _, name := range names {
		eq := ""
		if value != "" && strings.HasPrefix(name, "--") {
			eq = "="
		}
		specs = append(specs, shQuote(paren(excl)+rep+name+eq+"["+zshDesc(f.Help)+"]"+value))
	}
	return specs
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func zshAction(v *kong.Value) string {
	switch kind, words := valueKind(v); kind {
	case "file":
		return "_files"
	case "dir":
		return "_files -/"
	case "enum":
		return "(" + strings.Join(words, " ") + ")"
	}
	return " "
}

// zshDesc escapes an _arguments option description, which a ']' ends.
func zshDesc(s string) string {
	return strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`).Replace(s)
}

// zshMsg escapes an _arguments message, which a ':' ends.
func zshMsg(s string) string {
	return strings.NewReplacer(`\`, `\\`, ":", `\:`).Replace(s)
}

// fishCompletion writes complete commands for fish: a command's flags
// apply once __fish_seen_subcommand_from has seen its words.
func fishCompletion(app *kong.Application) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# "+completionHeader, "fish")
	b.WriteString("\n# No file names unless a flag or argument takes one.\ncomplete -c signstar -f\n")
	for _, n := range commands(app) {
		cond := fishCondition(n)
		if subs := subcommands(n); len(subs) > 0 {
			b.WriteString("\n")
			c := "not __fish_seen_subcommand_from " + strings.Join(names(subs), " ")
			if cond != "" {
				c = cond + "; and " + c
			}
			for _, s := range subs {
				fmt.Fprintf(&b, "complete -c signstar -n %s -a %s -d %s\n", shQuote(c), shQuote(s.Name), fishQuote(s.Help))
			}
		}
		if len(n.Flags) > 0 || len(n.Positional) > 0 {
			b.WriteString("\n")
		}
		for _, f := range n.Flags {
			b.WriteString(fishFlag(cond, f))
		}
		for _, a := range n.Positional {
			if kind, _ := valueKind(a); kind == "file" || kind == "dir" {
				fmt.Fprintf(&b, "complete -c signstar -n %s -F\n", shQuote(cond))
			}
		}
	}
	return []byte(b.String())
}

// fishCondition holds when n's command words have been seen.
func fishCondition(n *kong.Node) string {
	var c []string
	for _, w := range cmdPath(n) {
		c = append(c, "__fish_seen_subcommand_from "+w)
	}
	return strings.Join(c, "; and ")
}

func fishFlag(cond string, f *kong.Flag) string {
	s := "complete -c signstar"
	if cond != "" {
		s += " -n " + shQuote(cond)
	}
	if f.Short != 0 {
		s += " -s " + string(f.Short)
	}
	s += " -l " + f.Name
	switch kind, words := valueKind(f.Value); kind {
	case "file", "dir":
		s += " -r -F"
	case "enum":
		s += " -x -a " + fishQuote(strings.Join(words, " "))
	case "any":
		s += " -x"
	}
	return s + " -d " + fishQuote(f.Help) + "\n"
}

func names(nodes []*kong.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

// shQuote quotes s for bash and zsh: in single quotes, where a quote
// closes them, is escaped, and opens them again.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishQuote quotes s for fish, where a backslash escapes ' and \ inside
// single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}
