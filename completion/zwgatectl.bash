# bash completion for zwgatectl(1)                          -*- shell-script -*-
#
# Commands come from `zwgatectl --list-commands`, so that the program is
# their one list.  Node names, values and rules come from the running
# daemon (through the socket given with -s, if any); when it does not run,
# or does not answer within a second, those simply do not complete.

# _zwgatectl_ctl ARGS...: zwgatectl with the line's socket, quiet.
_zwgatectl_ctl() {
	local cmd=${COMP_WORDS[0]:-zwgatectl}
	# A command typed as ./zwgatectl runs that one; else the one in PATH.
	[[ $cmd == */* && -x $cmd ]] || cmd=zwgatectl
	command "$cmd" ${_zwgatectl_sock:+-s "$_zwgatectl_sock"} -t 1 "$@" \
		2>/dev/null
}

# _zwgatectl_dequote WORD: the word as the shell will pass it (the common
# cases: backslashes, one pair of quotes or an open quote).
_zwgatectl_dequote() {
	local w=$1
	case $w in
	\'*) w=${w#\'}; w=${w%\'} ;;
	\"*) w=${w#\"}; w=${w%\"} ;;
	*)
		local out='' i c
		for ((i = 0; i < ${#w}; i++)); do
			c=${w:i:1}
			if [[ $c == \\ ]]; then
				((i++))
				c=${w:i:1}
			fi
			out+=$c
		done
		w=$out
		;;
	esac
	printf '%s' "$w"
}

# _zwgatectl_add WORD...: the words that start with the current word,
# quoted for the line (unless the user opened a quote: bash closes it).
_zwgatectl_add() {
	local want w
	want=$(_zwgatectl_dequote "$cur")
	for w in "$@"; do
		[[ $w == "$want"* ]] || continue
		if [[ $cur == [\'\"]* ]]; then
			COMPREPLY+=("$w")
		else
			COMPREPLY+=("$(printf '%q' "$w")")
		fi
	done
}

# _zwgatectl_json_field INDENT KEY: the string or number values of KEY in
# `--json` output (jansson, two spaces a level) at that indentation.
_zwgatectl_json_field() {
	local pad=$1 key=$2 line v
	while IFS= read -r line; do
		[[ $line == "$pad\"$key\": "* ]] || continue
		v=${line#"$pad\"$key\": "}
		v=${v%,}
		if [[ $v == \"*\" ]]; then
			v=${v#\"}
			v=${v%\"}
			v=${v//\\\"/\"}
			v=${v//\\\//\/}
			v=${v//\\\\/\\}
		fi
		[[ $v == null ]] || printf '%s\n' "$v"
	done
}

_zwgatectl_nodes() {
	local out names=() w
	out=$(_zwgatectl_ctl --json nodes) || return
	while IFS= read -r w; do names+=("$w"); done < <(
		_zwgatectl_json_field '    ' name <<<"$out"
		_zwgatectl_json_field '    ' id <<<"$out"
	)
	_zwgatectl_add "${names[@]}"
}

# _zwgatectl_values NODE: the short names and paths of a node's values.
_zwgatectl_values() {
	local out vals=() w
	out=$(_zwgatectl_ctl --json node "$1") || return
	while IFS= read -r w; do vals+=("$w"); done < <(
		_zwgatectl_json_field '      ' alias <<<"$out"
		_zwgatectl_json_field '      ' path <<<"$out"
	)
	_zwgatectl_add "${vals[@]}"
}

_zwgatectl_rules() {
	local out rules=() w
	out=$(_zwgatectl_ctl --json rules) || return
	while IFS= read -r w; do rules+=("$w"); done < <(
		_zwgatectl_json_field '    ' name <<<"$out"
	)
	_zwgatectl_add "${rules[@]}"
}

# Scenes are not listed by the daemon: they are read from the rules files
# next to its configuration (when we may read them).
_zwgatectl_scenes() {
	local conf scenes=() line
	conf=$(_zwgatectl_ctl --json status | _zwgatectl_json_field '  ' config)
	[[ -n $conf ]] || return
	while IFS= read -r line; do
		[[ $line =~ ^[[:space:]]*scene[[:space:]]+\"([^\"]+)\" ]] &&
			scenes+=("${BASH_REMATCH[1]}")
	done < <(cat "$conf" "${conf%/*}"/rules.d/*.rules 2>/dev/null)
	_zwgatectl_add "${scenes[@]}"
}

# _zwgatectl_compgen WORDS: those of the words (no spaces in any) that
# start with the current word.
_zwgatectl_compgen() {
	mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}

_zwgatectl_files() {
	compopt -o filenames 2>/dev/null
	mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- \
		"$(_zwgatectl_dequote "$cur")")
}

_zwgatectl_dirs() {
	compopt -o filenames 2>/dev/null
	mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- \
		"$(_zwgatectl_dequote "$cur")")
}

# trust SUB: its options, and the files its options and arguments take.
_zwgatectl_trust() {
	local sub=$1 opt=$2 opts
	case $sub in
	status) opts='--json' ;;
	import) opts='--json' ;;
	keygen) opts='--out' ;;
	make) opts='--version --expires --host --anchor --recovery --pin
		--pin-from --signer --threshold --out' ;;
	sign) opts='--key' ;;
	verify) opts='--trusted --host' ;;
	*) return ;;
	esac
	if [[ $cur == -* ]]; then
		_zwgatectl_compgen "$opts --help"
		return
	fi
	case $opt in
	--version | --expires | --threshold | --pin | --host) return ;;
	esac
	# The last option's values, or the command's file argument.
	case $sub in
	import | keygen | make | sign | verify) _zwgatectl_files ;;
	esac
}

_zwgatectl() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local _zwgatectl_sock='' i w cmd='' ci=0
	COMPREPLY=()
	# "--out=FILE" comes as "--out" "=" "FILE" (COMP_WORDBREAKS has "=").
	if [[ $cur == = ]]; then
		cur=''
		prev=${COMP_WORDS[COMP_CWORD - 1]}
	elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi

	# The global options, up to the command.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-s | --socket)
			((i++))
			[[ ${COMP_WORDS[i]} == = ]] && ((i++))
			_zwgatectl_sock=$(_zwgatectl_dequote "${COMP_WORDS[i]}") ;;
		--socket=*) _zwgatectl_sock=$(_zwgatectl_dequote "${w#*=}") ;;
		-s?*) _zwgatectl_sock=$(_zwgatectl_dequote "${w#-s}") ;;
		-t | --timeout)
			((i++))
			[[ ${COMP_WORDS[i]} == = ]] && ((i++)) ;;
		-*) ;;
		*)
			cmd=$w
			ci=$i
			break
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		case $prev in
		-s | --socket)
			_zwgatectl_files
			return ;;
		-t | --timeout) return ;;
		esac
		if [[ $cur == -* ]]; then
			_zwgatectl_compgen '-s --socket -t --timeout --json -h
				--help -V --version'
		else
			_zwgatectl_compgen "$(_zwgatectl_ctl --list-commands)"
		fi
		return
	fi

	# The command's arguments so far, without its options; the last
	# option seen (for trust's options that take values).
	local args=() opt=
	for ((i = ci + 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--*) opt=$w ;;
		=) ((i++)) ;; # the value of --option=value
		*) args+=("$(_zwgatectl_dequote "$w")") ;;
		esac
	done
	local n=${#args[@]}

	case $cmd in
	status | nodes | reload | cancel | heal)
		[[ $cur == -* ]] && _zwgatectl_compgen '--json --help'
		return ;;
	set | include)
		if [[ $cmd == include && $prev == --grant ]]; then
			# a comma-separated list: complete its last class
			local done=${cur%"${cur##*,}"}
			local IFS=$'\n'
			COMPREPLY=($(compgen -P "$done" -W 'access-control
authenticated
unauthenticated
s0
none' -- "${cur##*,}"))
			return
		fi
		[[ $cmd == include && $prev == --pin ]] && return
		if [[ $cur == -* ]]; then
			local o=--no-wait
			[[ $cmd == include ]] && o='--secure --grant --pin'
			_zwgatectl_compgen "$o --json --help"
			return
		fi ;;
	provision)
		# provision add CODE [--grant ...] [--long-range] | remove CODE | list
		if [[ $prev == --grant ]]; then
			_zwgatectl_compgen 'access-control authenticated unauthenticated s0'
		elif ((n == 0)); then
			_zwgatectl_compgen 'add remove list --help'
		elif [[ ${args[0]} == add && $cur == -* ]]; then
			_zwgatectl_compgen '--grant --long-range'
		fi
		return ;;
	firmware)
		# firmware update NODE FILE [--target N]
		[[ $prev == --target ]] && return
		if ((n == 0)); then
			_zwgatectl_compgen 'update --help'
		elif [[ ${args[0]} == update && $cur == -* ]]; then
			_zwgatectl_compgen '--target'
		elif [[ ${args[0]} == update ]] && ((n == 1)); then
			_zwgatectl_nodes
		elif [[ ${args[0]} == update ]] && ((n == 2)); then
			_zwgatectl_files
		fi
		return ;;
	fleet)
		# fleet status|publish-bundle|can-retire [OPTIONS] [ID...|FILE]
		case $prev in
		--cafile | --cert | --key | --ids | --anchor | --new-root)
			_zwgatectl_files
			return ;;
		-h | -p | --connect-to | --prefix | --wait | --window)
			return ;;
		esac
		if ((n == 0)); then
			_zwgatectl_compgen 'status publish-bundle can-retire --help'
		elif [[ $cur == -* ]]; then
			local o='-h -p --connect-to --cafile --cert --key --prefix --wait --ids --json --help'
			[[ ${args[0]} == can-retire ]] && o="$o --anchor --new-root --window"
			_zwgatectl_compgen "$o"
		elif [[ ${args[0]} == publish-bundle ]]; then
			_zwgatectl_files
		fi
		return ;;
	keys)
		# keys generate FILE
		if ((n == 0)); then
			_zwgatectl_compgen 'generate --help'
		elif [[ ${args[0]} == generate ]] && ((n == 1)); then
			_zwgatectl_files
		fi
		return ;;
	factory-reset)
		if [[ $prev == --state-dir ]]; then
			_zwgatectl_dirs
		else
			_zwgatectl_compgen '--state-dir --yes-really --help'
		fi
		return ;;
	esac
	if [[ $cur == -* && $cmd != trust ]]; then
		_zwgatectl_compgen '--json --help'
		return
	fi

	case $cmd in
	backup)
		((n == 0)) && _zwgatectl_files ;;
	node | refresh | rename | config-set | health)
		((n == 0)) && _zwgatectl_nodes ;;
	get | set)
		case $n in
		0) _zwgatectl_nodes ;;
		1) _zwgatectl_values "${args[0]}" ;;
		esac ;;
	log-level)
		((n == 0)) && _zwgatectl_add debug info notice warning error ;;
	sim)
		case $n in
		0) _zwgatectl_add emit dead alive event stream stream-event stats ;;
		1) [[ ${args[0]} != stats ]] && _zwgatectl_nodes ;;
		2) case ${args[0]} in
		   emit | stream) _zwgatectl_values "${args[1]}" ;;
		   event | stream-event) _zwgatectl_add scene button notification ;;
		   esac ;;
		esac ;;
	rules)
		case $n in
		0) _zwgatectl_add show run enable disable ;;
		1) _zwgatectl_rules ;;
		esac ;;
	scene)
		case $n in
		0) _zwgatectl_add run ;;
		1) _zwgatectl_scenes ;;
		esac ;;
	trust)
		if ((n == 0)); then
			_zwgatectl_add status import keygen make sign verify
		else
			_zwgatectl_trust "${args[0]}" "$opt"
		fi ;;
	help)
		if ((n == 0)); then
			_zwgatectl_compgen "$(_zwgatectl_ctl --list-commands)"
		elif ((n == 1)) && [[ ${args[0]} == trust ]]; then
			_zwgatectl_add status import keygen make sign verify
		fi ;;
	esac
}

complete -F _zwgatectl zwgatectl
