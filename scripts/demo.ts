/** npm run demo: the whole rollback story on this machine. Lands with the workflows issue. */
console.error('npm run demo: not implemented yet (it arrives with the reusable workflows).');
process.exit(1);
