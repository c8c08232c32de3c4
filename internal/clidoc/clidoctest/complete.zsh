# zsh -f complete.zsh DIR LINE OUT: complete LINE in an interactive zsh that
# finds the completion function in DIR, and write the candidates to OUT.
#
# zsh completes only inside its line editor, so LINE and a tab are typed
# into an interactive zsh on a pseudo terminal (zsh/zpty); a wrapper around
# compadd records what the completion function offers.
zmodload zsh/zpty
readonly dir=$1 line=$2
export GENDOC_OUT=$3
: >$GENDOC_OUT

compadd() {
	# -O, -A and -D only collect matches; they offer nothing.
	if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
		builtin compadd "$@"
		return
	fi
	local -a hits
	builtin compadd -A hits "$@"
	print -rl -- $hits >>$GENDOC_OUT
	builtin compadd "$@"
}

zpty shell 'zsh -f -i'
zpty -w shell "PROMPT= fpath=(${(q)dir} \$fpath); autoload -U compinit; compinit -u -D; bindkey '^I' complete-word"
zpty -w shell "$(functions compadd)"
zpty -w shell "$line"$'\t'
# Once the completion is done: clear the line (^U), then mark the end.
zpty -w shell $'\C-u''print -r -- __done__ >>$GENDOC_OUT'
for i in {1..100}; do
	grep -qx __done__ $GENDOC_OUT && break
	sleep 0.1
done
zpty -d shell
grep -qx __done__ $GENDOC_OUT
