// The Home's backup tile asks the shell to open the Backups screen (the shell switches to it
// and clears the request), as the clinical screens ask for a chart.

class BackupsNav {
  pending = $state(false);

  ask(): void {
    this.pending = true;
  }

  /** Whether it was asked, which is then forgotten. */
  take(): boolean {
    const asked = this.pending;
    this.pending = false;
    return asked;
  }
}

export const backupsNav = new BackupsNav();
