package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/zbuild/zbuild/build"
)

func newLoginCmd(g *globals) *cobra.Command {
	var (
		user          string
		password      string
		passwordStdin bool
	)
	cmd := &cobra.Command{
		Use:   "login [flags] [REGISTRY]",
		Short: "Log in to a registry and store the credentials",
		Long: `login checks the credentials against REGISTRY (default docker.io) and, when it
accepts them, stores them as docker login does: in $DOCKER_CONFIG/config.json
(default ~/.docker/config.json, mode 0600), or in the credential helper its
credHelpers or credsStore names. Prefer --password-stdin: a password on the
command line is visible to other users of the machine.`,
		Example: `  echo "$TOKEN" | zbuild login -u ci --password-stdin registry.example.com
  zbuild login -u alice registry.example.com   # prompts for the password`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErr{fmt.Errorf("expected at most one registry, got %d", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			registry := "docker.io"
			if len(args) == 1 {
				registry = args[0]
			}
			if user == "" {
				return &build.UsageError{Flag: "--username", Value: "", Msg: "a user name is needed (-u USER)"}
			}
			pw, err := readPassword(g, password, passwordStdin, cmd.Flags().Changed("password"))
			if err != nil {
				return err
			}
			where, err := build.Login(cmd.Context(), registry, user, pw, g.registry)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Login succeeded; credentials stored in %s\n", where)
			return nil
		},
	}
	cmd.Flags().StringVarP(&user, "username", "u", "", "user name")
	cmd.Flags().StringVarP(&password, "password", "p", "", "password or token (visible to other users: prefer --password-stdin)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password or token from stdin")
	return cmd
}

// readPassword takes the password from -p, stdin or, on a terminal, a
// prompt without echo.
func readPassword(g *globals, flag string, fromStdin, flagSet bool) (string, error) {
	switch {
	case fromStdin && flagSet:
		return "", &build.UsageError{Flag: "--password-stdin", Value: "", Msg: "give either --password or --password-stdin"}
	case fromStdin:
		data, err := io.ReadAll(g.stdin)
		if err != nil {
			return "", fmt.Errorf("reading the password from stdin: %w", err)
		}
		pw := strings.TrimRight(string(data), "\r\n")
		if pw == "" {
			return "", &build.UsageError{Flag: "--password-stdin", Value: "", Msg: "stdin held no password"}
		}
		return pw, nil
	case flagSet:
		fmt.Fprintln(g.stderr, "WARNING! Using --password on the command line is insecure; use --password-stdin.")
		return flag, nil
	}
	f, ok := g.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", &build.UsageError{Flag: "--password-stdin", Value: "", Msg: "no terminal to prompt on: pass the password with --password-stdin"}
	}
	fmt.Fprint(g.stderr, "Password: ")
	data, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(g.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if len(data) == 0 {
		return "", errors.New("empty password")
	}
	return string(data), nil
}

func newLogoutCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "logout [REGISTRY]",
		Short:   "Remove a registry's stored credentials",
		Long:    `logout removes REGISTRY's (default docker.io) credentials from the Docker config or its credential helper.`,
		Example: `  zbuild logout registry.example.com`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErr{fmt.Errorf("expected at most one registry, got %d", len(args))}
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			registry := "docker.io"
			if len(args) == 1 {
				registry = args[0]
			}
			removed, where, err := build.Logout(registry)
			if err != nil {
				return err
			}
			if !removed {
				fmt.Fprintf(g.stdout, "Not logged in to %s\n", registry)
				return nil
			}
			fmt.Fprintf(g.stdout, "Removed the credentials for %s from %s\n", registry, where)
			return nil
		},
	}
}
