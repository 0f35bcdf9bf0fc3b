"""Pieces shared by the window and its tabs: banners, the connection indicator, the one
thread idiom (`threads.WorkerThread`) and the one worker-to-GUI hand-over (`feed.Feed`)."""
