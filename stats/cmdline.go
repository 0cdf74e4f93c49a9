package stats

import "strings"

// The runtime API's command-line syntax is HAProxy's (management.txt 9.3,
// src/cli.c): a line holds commands separated by ';', a command holds
// words separated by spaces or tabs, and a backslash makes the next byte
// ordinary, so "\;" is a semicolon inside a word, "\ " a space inside a
// word and "\\" a backslash.

// splitCommands splits a line into its commands on every ';' that no
// backslash escapes. The commands keep their backslashes: commandWords
// removes them once the words are known, so that "\ " still joins words.
func splitCommands(line string) []string {
	var cmds []string
	start := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++ // the next byte is ordinary, whatever it is
		case ';':
			cmds = append(cmds, line[start:i])
			start = i + 1
		}
	}
	return append(cmds, line[start:])
}

// commandWords splits one command into its words and removes the escaping
// backslashes: "\x" is "x" for any byte x, and a backslash ending the
// command is dropped, as HAProxy does.
func commandWords(cmd string) []string {
	var words []string
	var w strings.Builder
	in := false // inside a word
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		if c == ' ' || c == '\t' {
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
			continue
		}
		if c == '\\' {
			if i+1 == len(cmd) {
				break // escapes nothing
			}
			i++
			c = cmd[i]
		}
		in = true
		w.WriteByte(c)
	}
	if in {
		words = append(words, w.String())
	}
	return words
}
