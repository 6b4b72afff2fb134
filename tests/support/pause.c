/* The sandbox ("pause") process of the test pods, linked statically so that an image holding
 * nothing but this file runs. Like the kubelet's pause: sleeps, reaps the zombies of a shared
 * PID namespace, leaves on SIGINT/SIGTERM. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void OnStop(int sig) {
  (void)sig;
  _exit(0);
}

static void OnChild(int sig) {
  (void)sig;
  while (waitpid(-1, 0, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction stop = {0};
  stop.sa_handler = OnStop;
  sigaction(SIGINT, &stop, 0);
  sigaction(SIGTERM, &stop, 0);
  struct sigaction child = {0};
  child.sa_handler = OnChild;
  child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &child, 0);
  for (;;) pause();
  return 0;
}
