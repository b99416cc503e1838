"""``mlc.utils`` for recipes run by cmx without the mlc package installed (cmx/compat/utilfns.py)."""

from cmx.compat.utilfns import *  # noqa: F401,F403
from cmx.compat.utilfns import (check_if_true_yes_on, debug_here, gen_uid, get_current_date_time, is_false,  # noqa: F401
                                is_true, load_json, load_txt, load_yaml, load_yaml_and_json, merge_dicts,
                                run_system_cmd, save_json, save_txt, save_yaml)
